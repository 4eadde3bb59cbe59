#include "app/api_key.hpp"

#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace lanspread::app {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kTmpName = "api-key.tmp";
constexpr std::size_t kMaxKeyFile = 256;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.release()) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

AppError fail(errc code, const fs::path& object, std::string detail) {
  return AppError{make_error_code(code), object.string(), std::move(detail)};
}

AppError fail_errno(errc code, const fs::path& object, std::string_view what) {
  return fail(code, object, std::string(what) + ": " + std::strerror(errno));
}

bool is_key(std::string_view text) {
  if (text.size() != 2 * kApiKeyBytes) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Opens the state dir, creating it 0700 when missing; refuses a directory of another user
// and tightens a looser mode, so the key file inside is reachable by this user only.
result<Fd> open_private_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::state_dir_unsafe, dir, "cannot create it: " + ec.message());
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return fail_errno(errc::state_dir_unsafe, dir, "cannot open it");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(errc::state_dir_unsafe, dir, "cannot stat");
  if (st.st_uid != ::geteuid()) {
    return fail(errc::state_dir_unsafe, dir,
                "it belongs to uid " + std::to_string(st.st_uid) + ", not to this user");
  }
  if ((st.st_mode & 07777) != 0700 && ::fchmod(fd.get(), 0700) != 0) {
    return fail_errno(errc::state_dir_unsafe, dir, "cannot make it private (chmod 0700)");
  }
  return fd;
}

// The key in an existing file; an empty string when there is no file.
result<std::string> read_key(int dir_fd, const fs::path& path) {
  Fd fd(::openat(dir_fd, std::string(kApiKeyFileName).c_str(),
                 O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::string();
    return fail_errno(errc::key_unreadable, path, "cannot open it");
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(errc::key_unreadable, path, "cannot stat");
  if (!S_ISREG(st.st_mode)) return fail(errc::key_unreadable, path, "not a regular file");
  if (st.st_uid != ::geteuid()) return fail(errc::key_unreadable, path, "belongs to another user");
  if ((st.st_mode & 077) != 0 && ::fchmod(fd.get(), 0600) != 0) {
    return fail_errno(errc::key_unreadable, path, "cannot make it private (chmod 0600)");
  }
  std::string text(kMaxKeyFile + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(errc::key_unreadable, path, "cannot read it");
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  if (!is_key(text)) {
    return fail(errc::key_unreadable, path, "it does not hold 64 lowercase hex digits");
  }
  return text;
}

// Writes a new key through api-key.tmp and renames it into place unless another process
// was faster (then its key is the one). Returns false when the name was taken.
result<bool> write_new_key(int dir_fd, const fs::path& dir, const std::string& key) {
  const fs::path path = dir / kApiKeyFileName;
  const std::string tmp(kTmpName);
  ::unlinkat(dir_fd, tmp.c_str(), 0);
  Fd fd(::openat(dir_fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return fail_errno(errc::key_write_failed, dir / tmp, "cannot create it");
  auto discard = [&](std::string_view what) {
    AppError e = fail_errno(errc::key_write_failed, dir / tmp, what);
    ::unlinkat(dir_fd, tmp.c_str(), 0);
    return e;
  };
  if (::fchmod(fd.get(), 0600) != 0) return discard("cannot chmod 0600");
  std::size_t off = 0;
  while (off < key.size()) {
    const ssize_t n = ::write(fd.get(), key.data() + off, key.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return discard("cannot write it");
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return discard("cannot fsync it");
  if (::close(fd.release()) != 0) return discard("cannot close it");
  if (::renameat2(dir_fd, tmp.c_str(), dir_fd, std::string(kApiKeyFileName).c_str(),
                  RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) {
      ::unlinkat(dir_fd, tmp.c_str(), 0);
      return false;
    }
    return discard("cannot rename it to " + path.filename().string());
  }
  if (::fsync(dir_fd) != 0) return fail_errno(errc::key_write_failed, dir, "cannot fsync");
  return true;
}

}  // namespace

result<std::string> random_hex(std::size_t bytes) {
  std::vector<unsigned char> raw(bytes);
  if (gnutls_rnd(GNUTLS_RND_KEY, raw.data(), raw.size()) != 0) {
    return fail(errc::random_failed, "", "gnutls_rnd");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * bytes);
  for (unsigned char b : raw) {
    out += kHex[b >> 4];
    out += kHex[b & 0x0f];
  }
  gnutls_memset(raw.data(), 0, raw.size());
  return out;
}

bool equal_constant_time(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    diff = diff | static_cast<unsigned char>(a[i] ^ b[i]);
  }
  return diff == 0;
}

fs::path api_key_path(const fs::path& state_dir) {
  return state_dir / kApiKeyFileName;
}

result<std::string> load_or_create_api_key(const fs::path& state_dir) {
  auto dir = open_private_dir(state_dir);
  if (!dir) return dir.error();
  const fs::path path = api_key_path(state_dir);
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto existing = read_key(dir->get(), path);
    if (!existing) return existing.error();
    if (!existing->empty()) return existing;
    auto key = random_hex(kApiKeyBytes);
    if (!key) return key.error();
    auto written = write_new_key(dir->get(), state_dir, *key);
    if (!written) return written.error();
    if (*written) return key;
    // Another process created the file between our read and our rename: read its key.
  }
  return fail(errc::key_unreadable, path, "it keeps changing while being created");
}

}  // namespace lanspread::app
