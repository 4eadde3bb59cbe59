#include "app/api_key.hpp"

#include "sys/durable_file.hpp"
#include "sys/open_beneath.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace lanspread::app {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kTmpName = "api-key.tmp";
constexpr std::size_t kMaxKeyFile = 256;

AppError fail(errc code, const fs::path& object, std::string detail) {
  return AppError{make_error_code(code), object.string(), std::move(detail)};
}

AppError fail_errno(errc code, const fs::path& object, std::string_view what) {
  return fail(code, object, std::string(what) + ": " + std::strerror(errno));
}

AppError fail_sys(errc code, const fs::path& object, const sys::Error& e) {
  return fail(code, object, e.what + ": " + (e.reason.empty() ? std::strerror(e.code) : e.reason));
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
// (A state dir may legitimately be a symlink to a directory: it is followed.)
result<sys::UniqueFd> open_private_dir(const fs::path& dir, std::vector<std::string>* warnings) {
  std::error_code ec;
  const bool existed = fs::exists(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return fail(errc::state_dir_unsafe, dir, "cannot create it: " + ec.message());
  auto fd = sys::open_dir(dir, /*follow=*/true);
  if (!fd) return fail_sys(errc::state_dir_unsafe, dir, fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return fail_errno(errc::state_dir_unsafe, dir, "cannot stat");
  if (st.st_uid != ::geteuid()) {
    return fail(errc::state_dir_unsafe, dir,
                "it belongs to uid " + std::to_string(st.st_uid) + ", not to this user");
  }
  if ((st.st_mode & 07777) != 0700) {
    if (::fchmod(fd->get(), 0700) != 0)
      return fail_errno(errc::state_dir_unsafe, dir, "cannot make it private (chmod 0700)");
    if (existed && (st.st_mode & 077) != 0 && warnings) {
      warnings->push_back(
          fmt::format("{}: the state dir was open to other users (mode {:04o}); made it 0700",
                      dir.string(), st.st_mode & 07777));
    }
  }
  return std::move(*fd);
}

// The key in an existing file (never through a symlink); an empty string when there is none.
result<std::string> read_key(int dir_fd, const fs::path& path, std::vector<std::string>* warnings) {
  auto fd = sys::open_beneath(dir_fd, kApiKeyFileName, O_RDONLY | O_NONBLOCK, 0,
                              path.parent_path().string());
  if (!fd) {
    if (fd.error().code == ENOENT) return std::string();
    return fail_sys(errc::key_unreadable, path, fd.error());
  }
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0) return fail_errno(errc::key_unreadable, path, "cannot stat");
  if (!S_ISREG(st.st_mode)) return fail(errc::key_unreadable, path, "not a regular file");
  if (st.st_uid != ::geteuid()) return fail(errc::key_unreadable, path, "belongs to another user");
  if ((st.st_mode & 077) != 0) {
    if (::fchmod(fd->get(), 0600) != 0)
      return fail_errno(errc::key_unreadable, path, "cannot make it private (chmod 0600)");
    if (warnings) {
      warnings->push_back(fmt::format(
          "{}: the API key was readable or writable by other users (mode {:04o}); made it "
          "0600. It may have leaked: stop the daemon, delete the file and start again for a "
          "new key",
          path.string(), st.st_mode & 07777));
    }
  }
  auto text = sys::read_small_file(fd->get(), kMaxKeyFile, path.string());
  if (!text) return fail_sys(errc::key_unreadable, path, text.error());
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r' || text->back() == ' '))
    text->pop_back();
  if (!is_key(*text)) {
    return fail(errc::key_unreadable, path, "it does not hold 64 lowercase hex digits");
  }
  return std::move(*text);
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

result<std::string> load_or_create_api_key(const fs::path& state_dir,
                                           std::vector<std::string>* warnings) {
  auto dir = open_private_dir(state_dir, warnings);
  if (!dir) return dir.error();
  const fs::path path = api_key_path(state_dir);
  auto existing = read_key(dir->get(), path, warnings);
  if (!existing) return existing.error();
  if (!existing->empty()) return existing;
  auto key = random_hex(kApiKeyBytes);
  if (!key) return key.error();
  sys::AtomicWriteOptions options;
  options.mode = 0600;
  options.tmp_name = kTmpName;
  if (auto written =
          sys::write_file_atomic(dir->get(), kApiKeyFileName, *key, options, state_dir.string());
      !written) {
    return fail_sys(errc::key_write_failed, path, written.error());
  }
  return key;
}

}  // namespace lanspread::app
