#include "sys/durable_file.hpp"

#include "sys/open_beneath.hpp"
#include "sys/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace lanspread::sys {
namespace {

std::string join(std::string_view dir, std::string_view name) {
  std::string out(dir.empty() ? std::string_view(".") : dir);
  if (out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

}  // namespace

result<void> write_all(int fd, std::string_view data, std::string_view shown) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(n < 0 ? errno : EIO, "cannot write", shown);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

result<void> fsync_dir(int dir_fd, std::string_view shown) {
  if (::fsync(dir_fd) != 0) return make_error(errno, "cannot sync directory", shown);
  return {};
}

result<void> fsync_dir(const std::filesystem::path& dir) {
  auto fd = open_dir(dir, true);
  if (!fd) return fd.error();
  return fsync_dir(fd->get(), dir.native());
}

result<void> write_file_atomic(int dir_fd, std::string_view name, std::string_view data,
                               const AtomicWriteOptions& options, std::string_view shown) {
  const std::string tmp =
      options.tmp_name.empty() ? std::string(name) + ".tmp" : std::string(options.tmp_name);
  const std::string tmp_shown = join(shown, tmp);
  // A leftover (or a planted symlink or hard link) at the temporary name is removed, never
  // written through: O_EXCL creates a new inode or fails.
  ::unlinkat(dir_fd, tmp.c_str(), 0);
  UniqueFd fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                       options.mode));
  if (!fd) return make_error(errno, "cannot create", tmp_shown);
  auto fail = [&](Error e) -> result<void> {
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return e;
  };
  if (auto w = write_all(fd.get(), data, tmp_shown); !w) return fail(w.error());
  if (options.durable && ::fsync(fd.get()) != 0) {
    return fail(make_error(errno, "cannot sync", tmp_shown));
  }
  if (const int err = fd.close(); err != 0) return fail(make_error(err, "cannot write", tmp_shown));
  const std::string target(name);
  if (::renameat(dir_fd, tmp.c_str(), dir_fd, target.c_str()) != 0) {
    return fail(make_error(errno, "cannot rename into place", join(shown, name)));
  }
  if (options.durable) return fsync_dir(dir_fd, shown.empty() ? std::string_view(".") : shown);
  return {};
}

result<void> write_file_atomic(const std::filesystem::path& dir, std::string_view name,
                               std::string_view data, const AtomicWriteOptions& options) {
  auto fd = open_dir(dir, true);
  if (!fd) return fd.error();
  return write_file_atomic(fd->get(), name, data, options, dir.native());
}

result<std::string> read_small_file(int fd, std::size_t max_bytes, std::string_view shown) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return make_error(errno, "cannot inspect", shown);
  if (!S_ISREG(st.st_mode)) return make_error(EINVAL, "cannot read", shown, "not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return make_error(EFBIG, "cannot read", shown,
                      "larger than " + std::to_string(max_bytes) + " bytes");
  }
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t got = 0;
  for (;;) {
    if (got == out.size()) {
      if (out.size() > max_bytes) {
        return make_error(EFBIG, "cannot read", shown,
                          "larger than " + std::to_string(max_bytes) + " bytes");
      }
      out.resize(std::max<std::size_t>(out.size() * 2, 4096));  // it grew while we read it
      if (out.size() > max_bytes + 1) out.resize(max_bytes + 1);
    }
    const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(errno, "cannot read", shown);
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > max_bytes) {
    return make_error(EFBIG, "cannot read", shown,
                      "larger than " + std::to_string(max_bytes) + " bytes");
  }
  out.resize(got);
  return out;
}

result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (!fd) return make_error(errno, "cannot open", path.native());
  return read_small_file(fd.get(), max_bytes, path.native());
}

}  // namespace lanspread::sys
