#include "transfer/download_files.hpp"

#include "proto/layout.hpp"
#include "proto/limits.hpp"
#include "proto/validate.hpp"
#include "sys/open_beneath.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

namespace lanspread::transfer {
namespace fs = std::filesystem;
namespace {

using sys::UniqueFd;

std::vector<std::string> split(std::string_view rel) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= rel.size()) {
    const std::size_t slash = std::min(rel.find('/', start), rel.size());
    out.emplace_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// A symlink or a non-directory on the way is the manifest's fault (bad_path), anything
// else is our disk's.
errc open_errc(const sys::Error& e) {
  return e.code == EINVAL ? errc::bad_path : from_errno(e.code);
}

std::string join(std::span<const std::string> parts) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out.push_back('/');
    out += p;
  }
  return out;
}

// Opens (creating when asked) the directory `root/parts...`, never through a symlink.
result<UniqueFd> open_dir(const fs::path& root, std::span<const std::string> parts, bool create) {
  auto dir = sys::open_dir(root);
  if (!dir) return from_errno(dir.error().code);
  auto sub = sys::open_dir_beneath(dir->get(), join(parts), create, root.native());
  if (!sub) return open_errc(sub.error());
  return std::move(*sub);
}

// Whether nothing is at `root/parts...` yet: no such entry, or a directory on the way is
// missing. Anything else (an error, a symlink on the way) says false, so the caller's own
// open reports it.
bool absent(const fs::path& root, const std::vector<std::string>& parts) {
  auto top = sys::open_dir(root);
  if (!top) return false;
  UniqueFd sub;
  if (parts.size() > 1) {
    auto dir = sys::open_dir_beneath(top->get(), join(std::span(parts).first(parts.size() - 1)),
                                     false, root.native());
    if (!dir) return dir.error().code == ENOENT;
    sub = std::move(*dir);
  }
  struct stat st {};
  return ::fstatat(sub ? sub.get() : top->get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) !=
             0 &&
         errno == ENOENT;
}

bool is_sentinel(const proto::GameFileDescription& f) {
  return f.path == proto::layout::kVersionIni;
}

// True when [off, off + len) is one hole: no data was ever written there. Where the
// filesystem cannot tell (EINVAL, or it reports everything as data) this says false and the
// range is hashed.
bool is_hole(int fd, std::uint64_t off, std::uint64_t len) {
  const off_t data = ::lseek(fd, static_cast<off_t>(off), SEEK_DATA);
  if (data < 0) return errno == ENXIO;  // no data at or after off: a hole up to the end
  return static_cast<std::uint64_t>(data) >= off + len;
}

}  // namespace

result<int> open_for_write(const fs::path& root, std::string_view relative) {
  if (!proto::validate_relative_path(relative)) return errc::bad_path;
  const auto parts = split(relative);
  auto dir = open_dir(root, std::span(parts).first(parts.size() - 1), true);
  if (!dir) return dir.error();
  auto fd = sys::open_beneath(dir->get(), parts.back(), O_RDWR | O_CREAT, 0644);
  if (!fd) return open_errc(fd.error());
  struct stat st {};
  if (::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return errc::bad_path;
  return fd->release();
}

result<void> prepare_files(const fs::path& root, const proto::Game& manifest) {
  for (const auto& f : manifest.files) {
    if (is_sentinel(f)) continue;
    if (!proto::validate_relative_path(f.path)) return errc::bad_path;
    if (f.is_dir) {
      const auto parts = split(f.path);
      if (auto d = open_dir(root, parts, true); !d) return d.error();
      continue;
    }
    // A missing file of one chunk is created when its bytes arrive, and has its size with
    // them: a game's thousands of small files are created while the download runs, not
    // before its first request.
    if (f.chunk_hashes.size() == 1 && absent(root, split(f.path))) continue;
    auto opened = open_for_write(root, f.path);
    if (!opened) return opened.error();
    const UniqueFd fd(*opened);
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return from_errno(errno);
    if (static_cast<std::uint64_t>(st.st_size) != f.size &&
        ::ftruncate(fd.get(), static_cast<off_t>(f.size)) != 0) {
      return from_errno(errno);
    }
  }
  return {};
}

result<std::vector<std::vector<bool>>> verify_local_chunks(
    const fs::path& root, const proto::Game& manifest, const std::atomic<bool>* cancel,
    const std::function<void(std::uint64_t, std::uint64_t)>& progress) {
  std::vector<std::vector<bool>> out(manifest.files.size());
  std::uint64_t total = 0;
  for (const auto& f : manifest.files) total += (f.is_dir || is_sentinel(f)) ? 0 : f.size;
  std::uint64_t done = 0;
  for (std::size_t i = 0; i < manifest.files.size(); ++i) {
    const auto& f = manifest.files[i];
    out[i].assign(f.chunk_hashes.size(), false);
    if (f.is_dir || is_sentinel(f) || f.size == 0) continue;
    const auto parts = split(f.path);
    auto dir = open_dir(root, std::span(parts).first(parts.size() - 1), false);
    if (!dir) {
      done += f.size;
      continue;  // not there yet: nothing to keep
    }
    auto opened = sys::open_beneath(dir->get(), parts.back(), O_RDONLY | O_NONBLOCK);
    const UniqueFd fd = opened ? std::move(*opened) : UniqueFd();
    struct stat st {};
    if (!fd || ::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
      done += f.size;
      continue;
    }
    for (std::size_t c = 0; c < f.chunk_hashes.size(); ++c) {
      if (cancel && cancel->load()) return errc::cancelled;
      const std::uint64_t off = c * manifest.chunk_size;
      const std::uint64_t len = std::min<std::uint64_t>(manifest.chunk_size, f.size - off);
      // A range never written (a hole of a file we just sized) holds no bytes of the game:
      // not worth hashing.
      if (off + len <= static_cast<std::uint64_t>(st.st_size) && !is_hole(fd.get(), off, len)) {
        auto h = library::hash_range(fd.get(), off, len);
        out[i][c] = h && *h == f.chunk_hashes[c];
      }
      done += len;
      if (progress) progress(done, total);
    }
  }
  return out;
}

namespace {

void collect(int dfd, const std::string& prefix, std::size_t depth,
             const std::set<std::string>& keep, std::vector<std::string>& out) {
  DIR* dir = ::fdopendir(dfd);
  if (dir == nullptr) {
    ::close(dfd);
    return;
  }
  while (const dirent* d = ::readdir(dir)) {
    const std::string name = d->d_name;
    if (name == "." || name == ".." || proto::is_reserved_name(name)) continue;
    if (depth == 0 && (name == proto::layout::kLocal || name == proto::layout::kVersionIni))
      continue;
    const std::string rel = prefix.empty() ? name : prefix + "/" + name;
    struct stat st {};
    if (::fstatat(dfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode) && depth + 1 < proto::kMaxPathDepth) {
      if (auto sub = sys::open_dir_beneath(dfd, name, false)) {
        collect(sub->release(), rel, depth + 1, keep, out);
      }
    }
    if (!keep.contains(rel)) out.push_back(rel);  // children were pushed first: deepest first
  }
  ::closedir(dir);
}

}  // namespace

std::vector<std::string> stale_entries(const fs::path& root, const proto::Game& manifest) {
  std::set<std::string> keep;
  for (const auto& f : manifest.files) keep.insert(f.path);
  std::vector<std::string> out;
  if (auto dir = sys::open_dir(root)) collect(dir->release(), "", 0, keep, out);
  return out;
}

result<void> remove_entries(const fs::path& root, const std::vector<std::string>& rel) {
  for (const auto& r : rel) {
    const auto parts = split(r);
    auto dir = open_dir(root, std::span(parts).first(parts.size() - 1), false);
    if (!dir) continue;  // its parent went already
    struct stat st {};
    if (::fstatat(dir->get(), parts.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    const int flags = S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0;
    if (::unlinkat(dir->get(), parts.back().c_str(), flags) != 0 && errno != ENOENT) {
      // A directory that still holds something we keep (or the player's files) stays.
      if (errno == ENOTEMPTY || errno == EEXIST) continue;
      return from_errno(errno);
    }
  }
  return {};
}

ChunkWriter::ChunkWriter(std::uint64_t offset, std::uint64_t length, proto::Sha256 expected)
    : offset_(offset), length_(length), expected_(expected) {}

result<void> ChunkWriter::write(int fd, std::span<const std::uint8_t> bytes) {
  if (bytes.size() > length_ - written_) return errc::chunk_corrupt;  // more than asked for
  hash_.update(bytes);
  while (!bytes.empty()) {
    const ssize_t n =
        ::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset_ + written_));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return from_errno(errno);
    if (n == 0) return errc::io_error;
    written_ += static_cast<std::uint64_t>(n);
    bytes = bytes.subspan(static_cast<std::size_t>(n));
  }
  if (written_ - writeback_ >= kWritebackStep || written_ == length_) {
    // Only a hint to start writing these pages now, without waiting: an error shows again at
    // the final fdatasync, which is what makes the data durable.
    (void)::sync_file_range(fd, static_cast<off_t>(offset_ + writeback_),
                            static_cast<off_t>(written_ - writeback_), SYNC_FILE_RANGE_WRITE);
    writeback_ = written_;
  }
  return {};
}

result<void> ChunkWriter::finish() {
  if (written_ != length_) return errc::chunk_short;
  if (hash_.finish() != expected_) return errc::chunk_corrupt;
  return {};
}

}  // namespace lanspread::transfer
