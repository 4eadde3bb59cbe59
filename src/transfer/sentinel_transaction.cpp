#include "transfer/sentinel_transaction.hpp"

#include "proto/layout.hpp"
#include "sys/durable_file.hpp"
#include "sys/open_beneath.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace lanspread::transfer {
namespace {

const std::string kVersion(proto::layout::kVersionIni);
const std::string kTmp(proto::layout::kVersionTmp);
const std::string kParked(proto::layout::kVersionDiscarded);

}  // namespace

result<SentinelTransaction> SentinelTransaction::begin(const std::filesystem::path& root) {
  auto dir = sys::open_dir(root);
  if (!dir) return errc::sentinel_failed;
  const int dfd = dir->get();
  ::unlinkat(dfd, kTmp.c_str(), 0);
  struct stat st {};
  bool ok = true;
  if (::fstatat(dfd, kVersion.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(st.st_mode)) {
      ok = ::renameat(dfd, kVersion.c_str(), dfd, kParked.c_str()) == 0;
    } else if (!S_ISDIR(st.st_mode)) {
      ok =
          ::unlinkat(dfd, kVersion.c_str(), 0) == 0;  // a symlink or special file: not ours to keep
    } else {
      ok = false;  // a directory named version.ini: refuse to touch it
    }
  }
  if (ok) (void)sys::fsync_dir(dfd, root.native());
  if (!ok) return errc::sentinel_failed;
  return SentinelTransaction(root);
}

result<void> SentinelTransaction::commit(std::span<const std::uint8_t> content) {
  auto dir = sys::open_dir(root_);
  if (!dir) return errc::sentinel_failed;
  const std::string_view data(reinterpret_cast<const char*>(content.data()), content.size());
  // tmp + fsync + rename + fsync of the root; a failure removes the temporary.
  if (!sys::write_file_atomic(dir->get(), kVersion, data, {.tmp_name = kTmp}, root_.native())) {
    return errc::sentinel_failed;
  }
  ::unlinkat(dir->get(), kParked.c_str(), 0);
  return {};
}

void SentinelTransaction::abort() {
  auto dir = sys::open_dir(root_);
  if (!dir) return;
  ::unlinkat(dir->get(), kTmp.c_str(), 0);
  ::unlinkat(dir->get(), kParked.c_str(), 0);
}

}  // namespace lanspread::transfer
