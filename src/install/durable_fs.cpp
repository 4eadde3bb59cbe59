#include "install/durable_fs.hpp"

#include "install/layout.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace lanspread::install {
namespace {

boost::system::error_code fail_errno(int err, std::string_view what, const fs::path& p,
                                     std::string& detail) {
  detail = std::string(what) + " '" + p.string() + "': " + std::strerror(err);
  return error_from_errno(err);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

NodeKind node_kind(const fs::path& p) noexcept {
  struct stat st {};
  if (::lstat(p.c_str(), &st) != 0) return NodeKind::absent;
  if (S_ISDIR(st.st_mode)) return NodeKind::directory;
  if (S_ISREG(st.st_mode)) return NodeKind::regular;
  if (S_ISLNK(st.st_mode)) return NodeKind::symlink;
  return NodeKind::other;
}

result<void> fsync_dir(const fs::path& dir, std::string& detail) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return fail_errno(errno, "cannot open directory", dir, detail);
  if (::fsync(fd.get()) != 0) return fail_errno(errno, "cannot sync directory", dir, detail);
  return {};
}

result<void> write_file_atomic(const fs::path& dir, std::string_view name, std::string_view data,
                               std::string& detail) {
  const fs::path tmp = dir / (std::string(name) + ".tmp");
  const fs::path target = dir / std::string(name);
  // O_NOFOLLOW: a symlink planted at the temp name must not redirect the write.
  ::unlink(tmp.c_str());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644));
  if (fd.get() < 0) return fail_errno(errno, "cannot create", tmp, detail);
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd.get(), data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::unlink(tmp.c_str());
      return fail_errno(err, "cannot write", tmp, detail);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.release()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno(err, "cannot sync", tmp, detail);
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    return fail_errno(err, "cannot rename into place", target, detail);
  }
  return fsync_dir(dir, detail);
}

result<void> rename_durable(const fs::path& from, const fs::path& to, std::string& detail) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return fail_errno(errno, "cannot rename '" + from.string() + "' to", to, detail);
  }
  if (auto r = fsync_dir(to.parent_path(), detail); !r) return r;
  if (from.parent_path() != to.parent_path()) return fsync_dir(from.parent_path(), detail);
  return {};
}

result<void> remove_file_durable(const fs::path& p, std::string& detail) {
  if (::unlink(p.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return fail_errno(errno, "cannot delete", p, detail);
  }
  return fsync_dir(p.parent_path(), detail);
}

result<void> remove_tree(const fs::path& p, std::string& detail) {
  std::error_code ec;
  if (has_owned_marker(p)) {
    // The marker goes last, so a crash in the middle leaves a directory still provably ours.
    const auto marker = p / std::string(layout::kOwnedMarker);
    for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->path() != marker) fs::remove_all(it->path(), ec);
      if (ec) break;
    }
    if (ec) return fail_errno(ec.value(), "cannot delete", p, detail);
  }
  fs::remove_all(p, ec);  // does not follow symlinks: a link is removed, not its target
  if (ec) return fail_errno(ec.value(), "cannot delete", p, detail);
  return fsync_dir(p.parent_path(), detail);
}

result<void> write_owned_marker(const fs::path& dir, std::string& detail) {
  return write_file_atomic(dir, layout::kOwnedMarker,
                           "{\"owner\":\"lanspread\",\"purpose\":\"reserved directory\"}\n",
                           detail);
}

result<void> create_owned_dir(const fs::path& dir, std::string& detail) {
  if (::mkdir(dir.c_str(), 0755) != 0) {
    return fail_errno(errno, "cannot create directory", dir, detail);
  }
  if (auto r = fsync_dir(dir.parent_path(), detail); !r) return r;
  return write_owned_marker(dir, detail);
}

bool has_owned_marker(const fs::path& dir) noexcept {
  return node_kind(dir) == NodeKind::directory &&
         node_kind(dir / std::string(layout::kOwnedMarker)) == NodeKind::regular;
}

result<void> sync_filesystem(const fs::path& p, std::string& detail) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return fail_errno(errno, "cannot open directory", p, detail);
  if (::syncfs(fd.get()) != 0) return fail_errno(errno, "cannot sync filesystem of", p, detail);
  return {};
}

result<std::string> read_small_file(const fs::path& p, std::size_t max_bytes, std::string& detail) {
  Fd fd(::open(p.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.get() < 0) return fail_errno(errno, "cannot open", p, detail);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(errno, "cannot stat", p, detail);
  if (!S_ISREG(st.st_mode)) return fail_errno(EINVAL, "not a regular file", p, detail);
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    return fail_errno(EFBIG, "file too large", p, detail);
  }
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, "cannot read", p, detail);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > max_bytes) return fail_errno(EFBIG, "file too large", p, detail);
  }
  return out;
}

}  // namespace lanspread::install
