#include "transfer/sentinel_transaction.hpp"

#include "library/layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace lanspread::transfer {
namespace {

void fsync_dir(int dfd) {
  ::fsync(dfd);
}

}  // namespace

result<SentinelTransaction> SentinelTransaction::begin(const std::filesystem::path& root) {
  const int dfd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return errc::sentinel_failed;
  const std::string version(library::kVersionFile);
  const std::string tmp(library::kVersionTmp);
  const std::string parked(library::kVersionDiscarded);
  ::unlinkat(dfd, tmp.c_str(), 0);
  struct stat st {};
  bool ok = true;
  if (::fstatat(dfd, version.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISREG(st.st_mode)) {
      ok = ::renameat(dfd, version.c_str(), dfd, parked.c_str()) == 0;
    } else if (!S_ISDIR(st.st_mode)) {
      ok = ::unlinkat(dfd, version.c_str(), 0) == 0;  // a symlink or special file: not ours to keep
    } else {
      ok = false;  // a directory named version.ini: refuse to touch it
    }
  }
  if (ok) fsync_dir(dfd);
  ::close(dfd);
  if (!ok) return errc::sentinel_failed;
  return SentinelTransaction(root);
}

result<void> SentinelTransaction::commit(std::span<const std::uint8_t> content) {
  const int dfd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return errc::sentinel_failed;
  const std::string tmp(library::kVersionTmp);
  const std::string version(library::kVersionFile);
  bool ok = false;
  const int fd =
      ::openat(dfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd >= 0) {
    std::size_t done = 0;
    ok = true;
    while (ok && done < content.size()) {
      const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
      if (n < 0 && errno == EINTR) continue;
      ok = n > 0;
      if (ok) done += static_cast<std::size_t>(n);
    }
    ok = ok && ::fsync(fd) == 0;
    ok = (::close(fd) == 0) && ok;
  }
  ok = ok && ::renameat(dfd, tmp.c_str(), dfd, version.c_str()) == 0;
  if (ok) {
    fsync_dir(dfd);
    ::unlinkat(dfd, std::string(library::kVersionDiscarded).c_str(), 0);
  } else {
    ::unlinkat(dfd, tmp.c_str(), 0);
  }
  ::close(dfd);
  return ok ? result<void>{} : result<void>(errc::sentinel_failed);
}

void SentinelTransaction::abort() {
  const int dfd = ::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dfd < 0) return;
  ::unlinkat(dfd, std::string(library::kVersionTmp).c_str(), 0);
  ::unlinkat(dfd, std::string(library::kVersionDiscarded).c_str(), 0);
  ::close(dfd);
}

}  // namespace lanspread::transfer
