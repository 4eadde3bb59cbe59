#include "transfer/update_commit.hpp"

#include "library/version.hpp"
#include "proto/layout.hpp"
#include "proto/limits.hpp"
#include "proto/validate.hpp"
#include "sys/durable_file.hpp"
#include "sys/open_beneath.hpp"
#include "transfer/download_files.hpp"
#include "transfer/file_cache.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <set>

namespace lanspread::transfer {
namespace fs = std::filesystem;
namespace {

using sys::UniqueFd;

constexpr std::string_view kFormat = "lanspread.update-commit";
constexpr std::int64_t kFormatVersion = 1;
const std::string kStaging(proto::layout::kUpdateStaging);
const std::string kFiles(proto::layout::kStagedFiles);
const std::string kJournal(proto::layout::kCommitJournal);
const std::string kJournalTmp(proto::layout::kCommitJournalTmp);
const std::string kSentinel(proto::layout::kVersionIni);
// The staged version.ini's temporary: a reserved name, so no staged payload file can have it.
const std::string kSentinelTmp(proto::layout::kVersionTmp);

bool ascii_iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
    if (lower(a[i]) != lower(b[i])) return false;
  }
  return true;
}

// An entry of the old version that a journal may delete: relative and inside the root, never
// Lanspread's own, local/ or version.ini. (Looser than a manifest path: a name the scan could not
// share, e.g. with a ':', is still part of the old payload.)
bool removable(std::string_view rel) {
  if (rel.empty() || rel.size() > proto::kMaxPathLength || rel.front() == '/') return false;
  std::size_t start = 0;
  for (bool top = true;; top = false) {
    const std::size_t slash = std::min(rel.find('/', start), rel.size());
    const std::string_view seg = rel.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == ".." || seg.find('\0') != std::string_view::npos ||
        proto::is_reserved_name(seg))
      return false;
    if (top && (ascii_iequals(seg, proto::layout::kLocal) ||
                ascii_iequals(seg, proto::layout::kVersionIni)))
      return false;
    if (slash == rel.size()) return true;
    start = slash + 1;
  }
}

std::pair<std::string, std::string> parent_and_name(const std::string& rel) {
  const auto slash = rel.rfind('/');
  if (slash == std::string::npos) return {"", rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

result<void> fail(const sys::Error& e, std::string& detail) {
  detail = e.message();
  return from_errno(e.code);
}

result<void> fail_errno(int code, std::string_view what, const fs::path& p, std::string& detail) {
  return fail(sys::make_error(code, what, p.native()), detail);
}

bool regular_at(int dir_fd, const std::string& name, std::uint64_t* size = nullptr) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
    return false;
  if (size != nullptr) *size = static_cast<std::uint64_t>(st.st_size);
  return true;
}

// Data and names of every staged file durable before the journal says they are there: one
// fdatasync per file and an fsync of each directory on the way, or one syncfs for many files.
result<void> sync_staged(const StagingArea& area, const CommitJournal& j, std::string& detail) {
  auto files = sys::open_dir(area.files());
  if (!files) return fail(files.error(), detail);
  if (j.files.size() > FileCache::kSyncEachUpTo) {
    if (::syncfs(files->get()) != 0)
      return fail_errno(errno, "cannot sync the filesystem of", area.files(), detail);
    return {};
  }
  std::set<std::string> paths;
  for (const auto& f : j.files) {
    auto fd = sys::open_beneath(files->get(), f.path, O_RDONLY, 0, area.files().native());
    if (!fd) return fail(fd.error(), detail);
    if (::fdatasync(fd->get()) != 0)
      return fail_errno(errno, "cannot sync", area.files() / f.path, detail);
    paths.insert(f.path);
  }
  for (const auto& d : directories_of(paths)) {
    auto fd = sys::open_dir_beneath(files->get(), d, false, area.files().native());
    if (!fd) return fail(fd.error(), detail);
    if (auto r = sys::fsync_dir(fd->get(), (area.files() / d).native()); !r)
      return fail(r.error(), detail);
  }
  if (auto r = sys::fsync_dir(files->get(), area.files().native()); !r)
    return fail(r.error(), detail);
  if (auto r = sys::fsync_dir(area.dir()); !r) return fail(r.error(), detail);
  return {};
}

enum class SwapEnd { completed, not_started };

// The swap from the commit point on. Every step can run again after a crash.
result<SwapEnd> swap(const fs::path& root, const CommitJournal& j, std::string& detail,
                     const StepHook& hook) {
  auto step = [&](std::string_view s) {
    if (hook) hook(s);
  };
  auto root_fd = sys::open_dir(root);
  if (!root_fd) return fail(root_fd.error(), detail).error();
  const int rfd = root_fd->get();
  auto staging = sys::open_dir_beneath(rfd, kStaging, false, root.native());
  if (!staging) return fail(staging.error(), detail).error();
  auto files = sys::open_dir_beneath(staging->get(), kFiles, false, root.native());
  const bool sentinel_staged = files && regular_at(files->get(), kSentinel);

  if (!sentinel_staged) {
    // Either the new version.ini is in already (only the clean-up is left), or the swap never
    // began (the old one is still there, so nothing was touched), or the staged files are gone.
    auto now = library::read_version_file(root / kSentinel);
    if (now && *now != j.version) return SwapEnd::not_started;
    if (!now) {
      detail = "the staged update of '" + root.native() + "' lost its version.ini";
      return errc::staging_lost;
    }
  } else {
    step("drop_old_sentinel");
    struct stat st {};
    if (::fstatat(rfd, kSentinel.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
      if (S_ISDIR(st.st_mode))
        return fail_errno(EISDIR, "cannot replace", root / kSentinel, detail).error();
      if (::unlinkat(rfd, kSentinel.c_str(), 0) != 0)
        return fail_errno(errno, "cannot delete", root / kSentinel, detail).error();
      if (auto r = sys::fsync_dir(rfd, root.native()); !r) return fail(r.error(), detail).error();
    }
    step("remove_old");
    if (auto r = remove_entries(root, j.remove); !r) {
      detail = "cannot delete the files of the old version in '" + root.native() + "'";
      return r.error();
    }
    // A file or link of the old version where the new one has a directory makes way for it
    // (decided now, not in the journal, so that this step can run again after it).
    step("create_dirs");
    for (const auto& d : j.dirs) {
      const auto [parent, name] = parent_and_name(d);
      auto in = sys::open_dir_beneath(rfd, parent, true, root.native());
      if (!in) return fail(in.error(), detail).error();
      struct stat there {};
      if (::fstatat(in->get(), name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 &&
          !S_ISDIR(there.st_mode) && ::unlinkat(in->get(), name.c_str(), 0) != 0) {
        return fail_errno(errno, "cannot delete", root / d, detail).error();
      }
      if (auto fd = sys::open_dir_beneath(in->get(), name, true, root.native()); !fd)
        return fail(fd.error(), detail).error();
    }
    std::set<std::string> parents;
    for (const auto& f : j.files) {
      step("move:" + f.path);
      const auto [parent, name] = parent_and_name(f.path);
      auto to = sys::open_dir_beneath(rfd, parent, true, root.native());
      if (!to) return fail(to.error(), detail).error();
      auto from = sys::open_dir_beneath(files->get(), parent, false);
      if (from && regular_at(from->get(), name)) {
        // A directory of the old version where the new one has a file: its payload went with
        // the old entries, so it is empty unless something not ours is inside.
        struct stat there {};
        if (::fstatat(to->get(), name.c_str(), &there, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISDIR(there.st_mode) && ::unlinkat(to->get(), name.c_str(), AT_REMOVEDIR) != 0) {
          return fail_errno(errno, "cannot replace the directory", root / f.path, detail).error();
        }
        if (::renameat(from->get(), name.c_str(), to->get(), name.c_str()) != 0)
          return fail_errno(errno, "cannot move the staged file to", root / f.path, detail).error();
      } else {
        std::uint64_t size = 0;
        if (!regular_at(to->get(), name, &size) || size != f.size) {
          detail = "the staged file '" + f.path + "' of '" + root.native() + "' is gone";
          return errc::staging_lost;
        }
      }
      parents.insert(parent);
    }
    // Every new file durable in its place before version.ini says the version is complete.
    step("sync_dirs");
    for (const auto& p : parents) {
      if (p.empty()) continue;
      auto fd = sys::open_dir_beneath(rfd, p, false, root.native());
      if (!fd) return fail(fd.error(), detail).error();
      if (auto r = sys::fsync_dir(fd->get(), (root / p).native()); !r)
        return fail(r.error(), detail).error();
    }
    if (auto r = sys::fsync_dir(rfd, root.native()); !r) return fail(r.error(), detail).error();
    step("commit_sentinel");
    if (::renameat(files->get(), kSentinel.c_str(), rfd, kSentinel.c_str()) != 0)
      return fail_errno(errno, "cannot commit", root / kSentinel, detail).error();
    if (auto r = sys::fsync_dir(rfd, root.native()); !r) return fail(r.error(), detail).error();
  }
  step("clear_journal");
  if (::unlinkat(staging->get(), kJournal.c_str(), 0) != 0 && errno != ENOENT)
    return fail_errno(errno, "cannot delete", root / kStaging / kJournal, detail).error();
  if (auto r = sys::fsync_dir(staging->get(), root.native()); !r)
    return fail(r.error(), detail).error();
  step("remove_staging");
  if (auto r = remove_staging(root); !r) {
    detail = "cannot delete '" + (root / kStaging).native() + "'";
    return r.error();
  }
  return SwapEnd::completed;
}

// The swap cannot finish: the root keeps no version.ini (it never claims a mix) and loses the
// staging area, so the next download starts afresh and repairs the files by their hashes.
result<void> abandon(const fs::path& root, std::string& detail) {
  auto root_fd = sys::open_dir(root);
  if (!root_fd) return fail(root_fd.error(), detail);
  if (::unlinkat(root_fd->get(), kSentinel.c_str(), 0) != 0 && errno != ENOENT)
    return fail_errno(errno, "cannot delete", root / kSentinel, detail);
  if (auto r = remove_staging(root); !r) {
    detail = "cannot delete '" + (root / kStaging).native() + "'";
    return r.error();
  }
  return {};
}

}  // namespace

std::string encode_journal(const CommitJournal& j) {
  boost::json::object o;
  o["format"] = kFormat;
  o["format_version"] = kFormatVersion;
  o["version"] = j.version;
  boost::json::array files;
  files.reserve(j.files.size());
  for (const auto& f : j.files)
    files.push_back(boost::json::object{{"path", f.path}, {"size", f.size}});
  o["files"] = std::move(files);
  o["dirs"] = boost::json::array(j.dirs.begin(), j.dirs.end());
  o["remove"] = boost::json::array(j.remove.begin(), j.remove.end());
  return boost::json::serialize(o) + "\n";
}

std::optional<CommitJournal> decode_journal(std::string_view json) {
  boost::system::error_code ec;
  boost::json::parse_options opt;
  opt.max_depth = 4;
  const boost::json::value v = boost::json::parse(json, ec, {}, opt);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  const auto* format = o.if_contains("format");
  const auto* fv = o.if_contains("format_version");
  const auto* version = o.if_contains("version");
  const auto* files = o.if_contains("files");
  const auto* dirs = o.if_contains("dirs");
  const auto* remove = o.if_contains("remove");
  if (!format || !format->is_string() || format->get_string() != kFormat) return std::nullopt;
  if (!fv || !fv->is_int64() || fv->get_int64() != kFormatVersion) return std::nullopt;
  if (!version || !version->is_string() || !files || !files->is_array() || !dirs ||
      !dirs->is_array() || !remove || !remove->is_array())
    return std::nullopt;
  CommitJournal j;
  j.version = std::string(version->get_string());
  if (!proto::validate_version(j.version)) return std::nullopt;
  if (files->get_array().size() > proto::kMaxFilesPerGame ||
      dirs->get_array().size() > proto::kMaxFilesPerGame)
    return std::nullopt;
  for (const auto& f : files->get_array()) {
    const auto* fo = f.if_object();
    const auto* path = fo ? fo->if_contains("path") : nullptr;
    const auto* size = fo ? fo->if_contains("size") : nullptr;
    if (!path || !path->is_string() || !size || !(size->is_uint64() || size->is_int64()))
      return std::nullopt;
    const std::string p(path->get_string());
    std::uint64_t n = 0;
    if (size->is_uint64()) {
      n = size->get_uint64();
    } else if (size->get_int64() >= 0) {
      n = static_cast<std::uint64_t>(size->get_int64());
    } else {
      return std::nullopt;
    }
    if (!proto::validate_relative_path(p) || p == kSentinel || n > proto::kMaxFileSize)
      return std::nullopt;
    j.files.push_back({p, n});
  }
  for (const auto& d : dirs->get_array()) {
    if (!d.is_string() || !proto::validate_relative_path(d.get_string())) return std::nullopt;
    j.dirs.emplace_back(d.get_string());
  }
  for (const auto& r : remove->get_array()) {
    if (!r.is_string() || !removable(r.get_string())) return std::nullopt;
    j.remove.emplace_back(r.get_string());
  }
  return j;
}

result<void> commit_update(const StagingArea& area, const proto::Game& manifest,
                           const std::vector<bool>& staged, std::string_view sentinel,
                           std::string& detail, const StepHook& hook) {
  auto step = [&](std::string_view s) {
    if (hook) hook(s);
  };
  CommitJournal j;
  j.version = manifest.version;
  for (std::size_t i = 0; i < manifest.files.size(); ++i) {
    const auto& f = manifest.files[i];
    if (f.is_dir) j.dirs.push_back(f.path);
    if (i < staged.size() && staged[i]) j.files.push_back({f.path, f.size});
  }
  step("sync_staged");
  if (auto r = sync_staged(area, j, detail); !r) return r;
  step("write_staged_sentinel");
  {
    auto files = sys::open_dir(area.files());
    if (!files) return fail(files.error(), detail);
    if (auto r = sys::write_file_atomic(files->get(), kSentinel, sentinel,
                                        {.tmp_name = kSentinelTmp}, area.files().native());
        !r) {
      return fail(r.error(), detail);
    }
  }
  j.remove = stale_entries(area.root(), manifest);
  step("write_journal");
  {
    auto dir = sys::open_dir(area.dir());
    if (!dir) return fail(dir.error(), detail);
    if (auto r = sys::write_file_atomic(dir->get(), kJournal, encode_journal(j),
                                        {.tmp_name = kJournalTmp}, area.dir().native());
        !r) {
      return fail(r.error(), detail);
    }
  }
  // The commit point: from here on the swap only goes forward.
  auto swapped = swap(area.root(), j, detail, hook);
  if (!swapped) {
    if (swapped.error() == errc::staging_lost) {
      std::string ignored;
      (void)abandon(area.root(), ignored);
    }
    return swapped.error();
  }
  return {};
}

std::string_view to_string(UpdateRecovery::Outcome o) noexcept {
  switch (o) {
    case UpdateRecovery::Outcome::clean:
      return "clean";
    case UpdateRecovery::Outcome::rolled_forward:
      return "rolled_forward";
    case UpdateRecovery::Outcome::tidied:
      return "tidied";
    case UpdateRecovery::Outcome::abandoned:
      return "abandoned";
  }
  return "clean";
}

result<UpdateRecovery> recover_update(const fs::path& root, std::string& detail,
                                      const StepHook& hook) {
  using Outcome = UpdateRecovery::Outcome;
  UpdateRecovery out;
  const auto info = inspect_staging(root);
  const fs::path dir = root / kStaging;
  auto tidy = [&](std::string note) -> result<UpdateRecovery> {
    if (auto r = remove_staging(root); !r) {
      detail = "cannot delete '" + dir.native() + "'";
      return r.error();
    }
    out.outcome = Outcome::tidied;
    if (!note.empty()) out.notes.push_back(std::move(note));
    return out;
  };
  auto give_up = [&](std::string note) -> result<UpdateRecovery> {
    if (auto r = abandon(root, detail); !r) return r.error();
    out.outcome = Outcome::abandoned;
    out.notes.push_back(std::move(note));
    return out;
  };
  switch (info.kind) {
    case StagingInfo::Kind::absent:
      return out;
    case StagingInfo::Kind::foreign:
      out.notes.push_back("left '" + dir.native() + "' alone: it " + info.problem);
      return out;
    case StagingInfo::Kind::leftover:
      return tidy({});
    case StagingInfo::Kind::staged: {
      // Kept for the next attempt, unless that version is the one in place (the swap ended
      // and only its clean-up was interrupted).
      auto now = library::read_version_file(root / kSentinel);
      if (has_complete_version(root) && now && *now == info.version) return tidy({});
      return out;
    }
    case StagingInfo::Kind::committing:
      break;
  }
  auto text = sys::read_small_file(dir / kJournal, kMaxCommitJournalBytes);
  const auto journal = text ? decode_journal(*text) : std::nullopt;
  if (!journal) {
    // version.ini is dropped first and committed last: while it is there the root is either the
    // untouched old version or the complete new one.
    if (has_complete_version(root))
      return tidy("set aside an unreadable update journal; the version in place is whole");
    return give_up(
        "the update journal is unreadable and the swap was under way; download the "
        "game again");
  }
  auto swapped = swap(root, *journal, detail, hook);
  if (!swapped) {
    if (swapped.error() != errc::staging_lost) return swapped.error();
    return give_up(detail + "; download the game again");
  }
  if (*swapped == SwapEnd::not_started) {
    return tidy("the staged version.ini of the update to " + journal->version +
                " was gone before the swap began; the old version is kept");
  }
  out.outcome = Outcome::rolled_forward;
  out.notes.push_back("completed the update to version " + journal->version);
  return out;
}

std::vector<RootUpdateRecovery> recover_updates(
    const fs::path& games_dir, const std::function<bool(std::string_view)>& is_catalog_id) {
  std::vector<RootUpdateRecovery> out;
  std::error_code ec;
  for (fs::directory_iterator it(games_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& root = it->path();
    const auto name = root.filename().string();
    struct stat st {};
    if (::lstat(root.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    if (is_catalog_id && !is_catalog_id(name)) continue;
    if (::lstat((root / kStaging).c_str(), &st) != 0) continue;
    RootUpdateRecovery r{name, UpdateRecovery{}, {}};
    r.report = recover_update(root, r.detail);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace lanspread::transfer
