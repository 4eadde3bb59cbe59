// Extracts one archive into a directory through the default Unpacker, as an install does;
// `install_bench.py` times it against bsdtar. Usage: install_bench_unpack <archive> <dest>
#include "install/libarchive_unpacker.hpp"

#include <cstdio>
#include <filesystem>

int main(int argc, char** argv) {
  using namespace lanspread::install;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <archive> <dest-dir>\n", argv[0]);
    return 2;
  }
  std::error_code ec;
  std::filesystem::create_directories(argv[2], ec);
  OperationContext ctx;
  auto r = LibarchiveUnpacker().unpack({{argv[1]}}, argv[2], UnpackLimits{}, ctx);
  if (!r) {
    std::fprintf(stderr, "unpack failed: %s: %s\n", r.error().message().c_str(),
                 ctx.detail.c_str());
    return 1;
  }
  std::printf("{\"entries\":%llu,\"bytes\":%llu}\n", static_cast<unsigned long long>(r->entries),
              static_cast<unsigned long long>(r->bytes_written));
  return 0;
}
