#include "transfer/update_staging.hpp"

#include "library/hasher.hpp"
#include "proto/layout.hpp"
#include "proto/validate.hpp"
#include "sys/durable_file.hpp"
#include "sys/open_beneath.hpp"
#include "transfer/download_files.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <map>

namespace lanspread::transfer {
namespace fs = std::filesystem;
namespace {

using sys::UniqueFd;

constexpr std::string_view kStateFormat = "lanspread.update-staging";
constexpr std::int64_t kStateFormatVersion = 1;
constexpr std::size_t kMaxStateBytes = 64 * 1024;
const std::string kStaging(proto::layout::kUpdateStaging);
const std::string kState(proto::layout::kStagingState);
const std::string kStateTmp(proto::layout::kStagingStateTmp);
const std::string kFiles(proto::layout::kStagedFiles);
const std::string kJournal(proto::layout::kCommitJournal);
const std::string kSentinel(proto::layout::kVersionIni);

bool is_sentinel(const proto::GameFileDescription& f) {
  return f.path == proto::layout::kVersionIni;
}

std::string encode_state(std::string_view version) {
  boost::json::object o;
  o["format"] = kStateFormat;
  o["format_version"] = kStateFormatVersion;
  o["version"] = version;
  return boost::json::serialize(o) + "\n";
}

std::optional<std::string> decode_state(std::string_view text) {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 4;
  const boost::json::value v = boost::json::parse(text, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* format = o.if_contains("format");
  const auto* fv = o.if_contains("format_version");
  const auto* version = o.if_contains("version");
  if (!format || !format->is_string() || format->get_string() != kStateFormat) return std::nullopt;
  if (!fv || !fv->is_int64() || fv->get_int64() != kStateFormatVersion) return std::nullopt;
  if (!version || !version->is_string()) return std::nullopt;
  std::string out(version->get_string());
  if (!proto::validate_version(out)) return std::nullopt;
  return out;
}

// True when the directory holds nothing, or nothing but the state's temporary: a staging area
// made and killed before its state was written.
bool holds_no_work(int dir_fd) {
  const int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  DIR* dir = dup >= 0 ? ::fdopendir(dup) : nullptr;
  if (dir == nullptr) {
    if (dup >= 0) ::close(dup);
    return false;
  }
  ::rewinddir(dir);
  bool empty = true;
  while (const dirent* d = ::readdir(dir)) {
    const std::string_view name = d->d_name;
    if (name != "." && name != ".." && name != kStateTmp) empty = false;
  }
  ::closedir(dir);
  return empty;
}

result<void> fail(const sys::Error& e, std::string& detail) {
  detail = e.message();
  return from_errno(e.code);
}

result<void> fail_errno(int code, std::string_view what, const fs::path& p, std::string& detail) {
  return fail(sys::make_error(code, what, p.native()), detail);
}

result<void> create(const fs::path& root, std::string_view version, std::string& detail) {
  auto root_fd = sys::open_dir(root);
  if (!root_fd) return fail(root_fd.error(), detail);
  if (::mkdirat(root_fd->get(), kStaging.c_str(), 0755) != 0)
    return fail_errno(errno, "cannot create directory", root / kStaging, detail);
  if (auto r = sys::fsync_dir(root_fd->get(), root.native()); !r) return fail(r.error(), detail);
  auto dir = sys::open_dir_beneath(root_fd->get(), kStaging, false, root.native());
  if (!dir) return fail(dir.error(), detail);
  const std::string shown = (root / kStaging).native();
  if (auto r = sys::write_file_atomic(dir->get(), kState, encode_state(version),
                                      {.tmp_name = kStateTmp}, shown);
      !r) {
    return fail(r.error(), detail);
  }
  if (::mkdirat(dir->get(), kFiles.c_str(), 0755) != 0)
    return fail_errno(errno, "cannot create directory", root / kStaging / kFiles, detail);
  return {};
}

// The old version's file at `rel`, if it is a regular file.
UniqueFd open_old(const fs::path& root, const std::string& rel, std::uint64_t& size) {
  auto fd = sys::open_beneath(root, rel, O_RDONLY | O_NONBLOCK);
  struct stat st {};
  if (!fd || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) return {};
  size = static_cast<std::uint64_t>(st.st_size);
  return std::move(*fd);
}

std::uint64_t chunk_length(const proto::Game& m, std::uint64_t size, std::size_t c) {
  return std::min<std::uint64_t>(m.chunk_size, size - c * m.chunk_size);
}

// The old file of one staged file: where each of its chunks is, by hash.
struct OldChunks {
  std::uint64_t size = 0;
  std::map<std::array<std::uint8_t, 32>, std::uint64_t> offset_of;  // the first with the hash
};

}  // namespace

bool has_complete_version(const fs::path& root) {
  struct stat st {};
  return ::lstat((root / kSentinel).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

StagingInfo inspect_staging(const fs::path& root) {
  StagingInfo info;
  const fs::path dir = root / kStaging;
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno == ENOENT) return info;
    info.kind = StagingInfo::Kind::foreign;
    info.problem = sys::make_error(errno, "cannot inspect", dir.native()).message();
    return info;
  }
  info.kind = StagingInfo::Kind::foreign;
  if (!S_ISDIR(st.st_mode)) {
    info.problem = "is not a directory";
    return info;
  }
  auto fd = sys::open_dir(dir);
  if (!fd) {
    info.problem = fd.error().message();
    return info;
  }
  if (::fstatat(fd->get(), kJournal.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    info.kind = StagingInfo::Kind::committing;
    return info;
  }
  if (auto text = sys::read_small_file(dir / kState, kMaxStateBytes)) {
    if (auto version = decode_state(*text)) {
      info.kind = StagingInfo::Kind::staged;
      info.version = std::move(*version);
      return info;
    }
  }
  if (holds_no_work(fd->get())) {
    info.kind = StagingInfo::Kind::leftover;
  } else {
    info.problem = "holds files but no readable " + kState;
  }
  return info;
}

fs::path StagingArea::dir() const {
  return root_ / kStaging;
}

fs::path StagingArea::files() const {
  return root_ / kStaging / kFiles;
}

result<StagingArea> StagingArea::open(const fs::path& root, std::string_view version,
                                      std::string& detail) {
  const auto info = inspect_staging(root);
  switch (info.kind) {
    case StagingInfo::Kind::committing:
      detail = "an interrupted update of '" + root.native() + "' is still to be completed";
      return errc::staging_blocked;
    case StagingInfo::Kind::foreign:
      detail = "'" + (root / kStaging).native() + "' " + info.problem;
      return errc::staging_blocked;
    case StagingInfo::Kind::staged:
      if (info.version == version) return StagingArea(root, std::string(version));
      [[fallthrough]];  // work towards a version that is no longer the one wanted
    case StagingInfo::Kind::leftover:
      if (auto r = discard_staging(root); !r) {
        detail = "cannot delete '" + (root / kStaging).native() + "'";
        return r.error();
      }
      break;
    case StagingInfo::Kind::absent:
      break;
  }
  if (auto r = create(root, version, detail); !r) return r.error();
  return StagingArea(root, std::string(version));
}

result<void> discard_staging(const fs::path& root) {
  const auto info = inspect_staging(root);
  switch (info.kind) {
    case StagingInfo::Kind::absent:
    case StagingInfo::Kind::foreign:
      return {};
    case StagingInfo::Kind::committing:
      return errc::staging_blocked;
    case StagingInfo::Kind::staged:
    case StagingInfo::Kind::leftover:
      break;
  }
  return remove_staging(root);
}

result<void> remove_staging(const fs::path& root) {
  std::error_code ec;
  fs::remove_all(root / kStaging,
                 ec);  // never follows a symlink: a link is removed, not its target
  if (ec) return from_errno(ec.value());
  if (auto r = sys::fsync_dir(root); !r) return from_errno(r.error().code);
  return {};
}

result<StagePlan> stage_update(const StagingArea& area, const proto::Game& manifest,
                               const std::atomic<bool>* cancel, const CheckProgress& progress,
                               const StepHook& hook) {
  const fs::path& root = area.root();
  const std::size_t n = manifest.files.size();
  StagePlan plan;
  plan.staged.assign(n, false);
  plan.ready.resize(n);
  auto payload = [&](std::size_t i) {
    return !manifest.files[i].is_dir && !is_sentinel(manifest.files[i]);
  };
  // What there is to read: the old files, then the new version's bytes.
  std::vector<std::optional<std::uint64_t>> old_size(n);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    plan.ready[i].assign(manifest.files[i].chunk_hashes.size(), false);
    if (!payload(i)) continue;
    std::uint64_t size = 0;
    if (open_old(root, manifest.files[i].path, size)) old_size[i] = size;
    total += old_size[i].value_or(0) + manifest.files[i].size;
  }
  std::uint64_t done = 0;
  auto report = [&] {
    if (progress) progress(done, total);
  };

  // 1. Which files stay as they are; for the others, where the old bytes are.
  std::map<std::size_t, OldChunks> old;
  for (std::size_t i = 0; i < n; ++i) {
    if (!payload(i)) continue;
    const auto& f = manifest.files[i];
    OldChunks chunks;
    std::vector<proto::Sha256> hashes;
    bool have_old = false;
    if (old_size[i]) {
      UniqueFd fd = open_old(root, f.path, chunks.size);
      have_old = static_cast<bool>(fd);
      const std::uint64_t count = fd ? proto::chunk_count(chunks.size, manifest.chunk_size) : 0;
      for (std::size_t c = 0; c < count; ++c) {
        if (cancel && cancel->load()) return errc::cancelled;
        const std::uint64_t len = chunk_length(manifest, chunks.size, c);
        auto h = library::hash_range(fd.get(), c * manifest.chunk_size, len);
        if (!h) return errc::io_error;  // the old version cannot be read: our disk
        hashes.push_back(*h);
        chunks.offset_of.try_emplace(h->bytes, c * manifest.chunk_size);
        done += len;
        report();
      }
    }
    if (have_old && chunks.size == f.size && hashes == f.chunk_hashes) {
      plan.ready[i].assign(f.chunk_hashes.size(), true);
      plan.reused += f.size;
      done += f.size;
      report();
      continue;
    }
    plan.staged[i] = true;
    old.emplace(i, std::move(chunks));
  }

  // 2. The staging area holds exactly the staged files, each at its new size.
  proto::Game staged{manifest.id, manifest.version, manifest.chunk_size, {}};
  std::vector<std::size_t> index_of;  // staged file -> manifest index
  for (std::size_t i = 0; i < n; ++i) {
    if (!plan.staged[i]) continue;
    staged.files.push_back(manifest.files[i]);
    index_of.push_back(i);
  }
  {
    auto files = sys::open_dir(area.files());
    if (!files) return from_errno(files.error().code);
    ::unlinkat(files->get(), kSentinel.c_str(), 0);  // a commit that never reached its journal
  }
  if (auto r = remove_entries(area.files(), stale_entries(area.files(), staged)); !r)
    return r.error();
  for (const auto& f : staged.files) {
    if (hook) hook("stage:" + f.path);
    proto::Game one{manifest.id, manifest.version, manifest.chunk_size, {f}};
    if (auto r = prepare_files(area.files(), one); !r) return r.error();
  }

  // 3. Staged chunks already right (an earlier attempt) count as done.
  const std::uint64_t before = done;
  auto local =
      verify_local_chunks(area.files(), staged, cancel, [&](std::uint64_t d, std::uint64_t) {
        done = before + d;
        report();
      });
  if (!local) return local.error();

  // 4. The others come from the old file where it has their bytes.
  for (std::size_t j = 0; j < staged.files.size(); ++j) {
    const std::size_t i = index_of[j];
    const auto& f = manifest.files[i];
    const OldChunks& from = old[i];
    UniqueFd old_fd;
    UniqueFd staged_fd;
    for (std::size_t c = 0; c < f.chunk_hashes.size(); ++c) {
      const std::uint64_t len = chunk_length(manifest, f.size, c);
      if ((*local)[j][c]) {
        plan.ready[i][c] = true;
        plan.reused += len;
        continue;
      }
      const auto at = from.offset_of.find(f.chunk_hashes[c].bytes);
      if (at == from.offset_of.end() ||
          std::min(manifest.chunk_size, from.size - at->second) != len) {
        continue;
      }
      if (cancel && cancel->load()) return errc::cancelled;
      if (hook) hook("copy:" + f.path + "#" + std::to_string(c));
      std::uint64_t old_now = 0;
      if (!old_fd) old_fd = open_old(root, f.path, old_now);
      if (!staged_fd) {
        auto opened = open_for_write(area.files(), f.path);
        if (!opened) return opened.error();
        staged_fd.reset(*opened);
      }
      if (!old_fd) break;  // the old file went away since it was hashed: fetch the rest
      const std::uint64_t off = c * manifest.chunk_size;
      if (auto r = copy_range(old_fd.get(), at->second, staged_fd.get(), off, len); !r) {
        if (r.error() == errc::io_error) continue;  // the old file shrank: fetch this chunk
        return r.error();
      }
      // What counts is what is staged now (the old file could have changed since it was hashed).
      auto h = library::hash_range(staged_fd.get(), off, len);
      if (h && *h == f.chunk_hashes[c]) {
        plan.ready[i][c] = true;
        plan.reused += len;
        plan.copied += len;
      }
    }
  }
  done = total;
  report();
  return plan;
}

result<void> copy_range(int from, std::uint64_t from_offset, int to, std::uint64_t to_offset,
                        std::uint64_t length) {
  auto in = static_cast<off64_t>(from_offset);
  auto out = static_cast<off64_t>(to_offset);
  std::uint64_t left = length;
  while (left > 0) {
    const ssize_t n = ::copy_file_range(from, &in, to, &out, left, 0);
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) return errc::io_error;  // the source ended early
    if (errno == EINTR) continue;
    // Not across these filesystems, not on this one, or not in this kernel: copy by hand.
    if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
    return from_errno(errno);
  }
  std::vector<std::uint8_t> buf(static_cast<std::size_t>(std::min<std::uint64_t>(left, 1 << 20)));
  while (left > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    const ssize_t r = ::pread(from, buf.data(), want, in);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return from_errno(errno);
    if (r == 0) return errc::io_error;
    std::size_t written = 0;
    while (written < static_cast<std::size_t>(r)) {
      const ssize_t w = ::pwrite(to, buf.data() + written, static_cast<std::size_t>(r) - written,
                                 out + static_cast<off64_t>(written));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return from_errno(w < 0 ? errno : EIO);
      written += static_cast<std::size_t>(w);
    }
    in += r;
    out += r;
    left -= static_cast<std::uint64_t>(r);
  }
  return {};
}

}  // namespace lanspread::transfer
