#include "sys/open_beneath.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <string>
#include <vector>

namespace lanspread::sys {
namespace {

// Cleared for good when the kernel says it has no openat2 (or a filter forbids it).
std::atomic<bool> g_openat2{true};

std::string shown_path(std::string_view dir, std::string_view relative) {
  std::string out(dir.empty() ? std::string_view(".") : dir);
  if (!relative.empty()) {
    if (out.back() != '/') out.push_back('/');
    out.append(relative);
  }
  return out;
}

// The components of `relative`, or none when one of them may not be walked.
bool split(std::string_view relative, std::vector<std::string>& out) {
  if (relative.empty()) return true;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = relative.find('/', start);
    const auto name =
        relative.substr(start, slash == std::string_view::npos ? slash : slash - start);
    if (name.empty() || name == "." || name == ".." || name.find('\0') != std::string_view::npos)
      return false;
    out.emplace_back(name);
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

int retry_openat(int dir_fd, const char* name, int flags, mode_t mode) {
  int fd;
  do {
    fd = ::openat(dir_fd, name, flags, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

// -1 with errno set, or -2 when openat2 cannot be used here at all.
int try_openat2(int dir_fd, const std::string& relative, int flags, mode_t mode) {
  if (!g_openat2.load(std::memory_order_relaxed)) return -2;
  open_how how{};
  how.flags = static_cast<std::uint64_t>(flags);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  // EAGAIN: a rename raced the lookup; a few retries, then the error is the caller's.
  for (int again = 0;;) {
    const long fd = ::syscall(SYS_openat2, dir_fd, relative.c_str(), &how, sizeof how);
    if (fd >= 0) return static_cast<int>(fd);
    if (errno == EINTR || (errno == EAGAIN && ++again < 8)) continue;
    if (errno == ENOSYS || errno == EPERM || errno == E2BIG) {
      g_openat2.store(false, std::memory_order_relaxed);
      return -2;
    }
    return -1;
  }
}

}  // namespace

result<UniqueFd> open_dir(const std::filesystem::path& dir, bool follow) {
  const int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (follow ? 0 : O_NOFOLLOW);
  UniqueFd fd(retry_openat(AT_FDCWD, dir.c_str(), flags, 0));
  if (!fd) return make_error(errno, "cannot open directory", dir.string());
  return fd;
}

result<UniqueFd> open_beneath(int dir_fd, std::string_view relative, int flags, mode_t mode,
                              std::string_view shown) {
  std::vector<std::string> parts;
  if (relative.empty() || !split(relative, parts)) {
    return make_error(EINVAL, "cannot open", shown_path(shown, relative),
                      "not a plain relative path");
  }
  flags |= O_NOFOLLOW | O_CLOEXEC;
  const int fd2 = try_openat2(dir_fd, std::string(relative), flags, mode);
  if (fd2 >= 0) return UniqueFd(fd2);
  if (fd2 == -1) return make_error(errno, "cannot open", shown_path(shown, relative));

  UniqueFd dir;  // empty while still at `dir_fd`
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const int at = dir ? dir.get() : dir_fd;
    UniqueFd next(
        retry_openat(at, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0));
    if (!next) return make_error(errno, "cannot open", shown_path(shown, relative));
    dir = std::move(next);
  }
  UniqueFd fd(retry_openat(dir ? dir.get() : dir_fd, parts.back().c_str(), flags, mode));
  if (!fd) return make_error(errno, "cannot open", shown_path(shown, relative));
  return fd;
}

result<UniqueFd> open_beneath(const std::filesystem::path& root, std::string_view relative,
                              int flags, mode_t mode) {
  auto dir = open_dir(root);
  if (!dir) return dir.error();
  return open_beneath(dir->get(), relative, flags, mode, root.native());
}

result<UniqueFd> open_regular_beneath(const std::filesystem::path& root,
                                      std::string_view relative) {
  auto fd = open_beneath(root, relative, O_RDONLY | O_NONBLOCK);
  if (!fd) return fd;
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) {
    return make_error(errno, "cannot inspect", shown_path(root.native(), relative));
  }
  if (!S_ISREG(st.st_mode)) {
    return make_error(EINVAL, "cannot open", shown_path(root.native(), relative),
                      "not a regular file");
  }
  return fd;
}

result<UniqueFd> open_dir_beneath(int dir_fd, std::string_view relative, bool create,
                                  std::string_view shown) {
  std::vector<std::string> parts;
  if (!split(relative, parts)) {
    return make_error(EINVAL, "cannot open directory", shown_path(shown, relative),
                      "not a plain relative path");
  }
  if (parts.empty()) {
    UniqueFd dup(::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!dup) return make_error(errno, "cannot open directory", shown_path(shown, relative));
    return dup;
  }
  constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
  if (!create) return open_beneath(dir_fd, relative, kDirFlags, 0, shown);
  UniqueFd dir;
  for (const auto& name : parts) {
    const int at = dir ? dir.get() : dir_fd;
    if (::mkdirat(at, name.c_str(), 0755) != 0 && errno != EEXIST) {
      return make_error(errno, "cannot create directory", shown_path(shown, relative));
    }
    UniqueFd next(retry_openat(at, name.c_str(), kDirFlags, 0));
    if (!next) return make_error(errno, "cannot open directory", shown_path(shown, relative));
    dir = std::move(next);
  }
  return dir;
}

void use_openat2_for_testing(bool enabled) noexcept {
  g_openat2.store(enabled, std::memory_order_relaxed);
}

}  // namespace lanspread::sys
