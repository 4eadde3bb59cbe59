// Archive bombs are refused by what threatens the machine (free space, bytes actually
// written), never by a compression ratio that real game data exceeds.
#include "install/libarchive_unpacker.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

#include <iostream>

namespace lanspread::install {
namespace {

using test::Format;
using test::TempDir;

struct Unpack {
  TempDir tmp;
  fs::path dest = tmp.path() / "dest";
  OperationContext ctx;
  Unpack() { fs::create_directories(dest); }
  result<UnpackStats> operator()(const fs::path& archive, const UnpackLimits& limits = {}) {
    ctx.detail.clear();
    return LibarchiveUnpacker().unpack({{archive}}, dest, limits, ctx);
  }
  std::uint64_t bytes_on_disk() const {
    std::uint64_t total = 0;
    for (const auto& e : fs::recursive_directory_iterator(dest)) {
      if (e.is_regular_file()) total += e.file_size();
    }
    return total;
  }
};

std::string text(std::size_t size) {
  const std::string line = "[map] tile=grass height=0 spawn=none item=none trigger=none\n";
  std::string out;
  out.reserve(size + line.size());
  while (out.size() < size) out += line;
  out.resize(size);
  return out;
}

// Guards against refusing legitimate archives as bombs: zero-filled and text data compress
// far beyond 1000:1 and must install with the default limits. 72 MiB each: more than the
// 64 MiB after which the former 200:1 ratio check refused them.
TEST(ArchiveBombs, HighlyCompressibleArchivesInstall) {
  constexpr std::size_t kSize = 72u << 20;
  struct Case {
    Format format;
    const char* name;
    const char* options;  // fast presets: the ratio is about the data, not the level
    std::string data;
  };
  for (auto& c :
       {Case{Format::tar_xz, "zeros.tar.xz", "xz:compression-level=1", std::string(kSize, '\0')},
        Case{Format::seven_zip, "text.7z", "7zip:compression-level=1", text(kSize)}}) {
    Unpack unpack;
    const auto archive = unpack.tmp.path() / c.name;
    test::write_archive(archive, c.format, {test::file("level.dat", c.data)}, c.options);
    const auto archive_size = fs::file_size(archive);
    ASSERT_GT(kSize / archive_size, 1000u) << c.name << " is not compressible enough for this test";
    std::cout << c.name << ": " << kSize << " bytes in " << archive_size << " ("
              << kSize / archive_size << ":1)\n";
    auto r = unpack(archive);
    ASSERT_TRUE(r) << c.name << ": " << unpack.ctx.detail;
    EXPECT_EQ(r->bytes_written, kSize);
    EXPECT_EQ(test::read_file(unpack.dest / "level.dat"), c.data) << c.name;
  }
}

// Guards against an entry whose header declares a small size but whose data expands to far
// more (a zip whose headers say 1 KiB over a 64 MiB deflate stream): it is stopped at the
// declared size, before a byte beyond it reaches the disk.
TEST(ArchiveBombs, EntryWritingMoreThanItDeclaresIsStoppedAtOnce) {
  Unpack unpack;
  const auto archive = unpack.tmp.path() / "liar.zip";
  test::write_archive(archive, Format::zip,
                      {test::file("zeros.bin", std::string(64u << 20, '\0'))});
  test::patch_zip_declared_size(archive, 1024);
  auto r = unpack(archive);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::oversized_entry)) << unpack.ctx.detail;
  EXPECT_NE(unpack.ctx.detail.find("zeros.bin"), std::string::npos) << unpack.ctx.detail;
  EXPECT_NE(unpack.ctx.detail.find("1024 bytes"), std::string::npos) << unpack.ctx.detail;
  EXPECT_LE(unpack.bytes_on_disk(), 1024u);
}

// Guards against filling the disk with what an archive openly declares: declared sizes are
// summed before each entry's first byte, against the free space minus the reserve.
TEST(ArchiveBombs, DeclaredSizesBeyondTheFreeSpaceAreRefusedBeforeWriting) {
  Unpack unpack;
  const auto archive = unpack.tmp.path() / "two.zip";
  test::write_archive(archive, Format::zip,
                      {test::file("a.bin", std::string(5u << 20, 'a')),
                       test::file("b.bin", std::string(5u << 20, 'b'))});
  UnpackLimits limits;
  limits.assume_free_bytes = 8u << 20;
  limits.reserve_percent = 0;
  limits.reserve_bytes = 0;
  auto r = unpack(archive, limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::not_enough_space)) << unpack.ctx.detail;
  EXPECT_NE(unpack.ctx.detail.find("b.bin"), std::string::npos) << unpack.ctx.detail;
  EXPECT_FALSE(fs::exists(unpack.dest / "b.bin"));

  // A tar.gz whose header promises 64 MiB (with no data behind it): refused before writing.
  Unpack again;
  test::Entry promised = test::file("huge.bin", "");
  promised.declared_size = 64ll << 20;
  test::write_archive(again.tmp.path() / "promise.tar.gz", Format::tar_gz, {promised});
  r = again(again.tmp.path() / "promise.tar.gz", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::not_enough_space)) << again.ctx.detail;
  EXPECT_FALSE(fs::exists(again.dest / "huge.bin"));

  // The reserve is kept: 5 % + 256 MiB of 200 MiB free leaves nothing to extract into, and
  // the message says what to do.
  limits = {};
  limits.assume_free_bytes = 200u << 20;
  Unpack reserved;
  test::write_archive(reserved.tmp.path() / "one.zip", Format::zip, {test::file("x", "x")});
  r = reserved(reserved.tmp.path() / "one.zip", limits);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::not_enough_space));
  EXPECT_NE(reserved.ctx.detail.find("free space"), std::string::npos) << reserved.ctx.detail;
  // With the space there, the same archive extracts.
  limits.assume_free_bytes = 1ull << 30;
  EXPECT_TRUE(reserved(reserved.tmp.path() / "one.zip", limits)) << reserved.ctx.detail;
}

}  // namespace
}  // namespace lanspread::install
