#include "install/libarchive_unpacker.hpp"

#include "install/entry_path.hpp"
#include "proto/try.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace lanspread::install {
namespace {

// libarchive's platform errno for "unrecognised format" (EILSEQ on Linux) and "misc".
constexpr int kErrnoFileFormat = EILSEQ;
constexpr int kErrnoMisc = -1;
// libarchive's own minimum for regular files. Larger blocks cost more than they save: the
// zip and 7z readers seek between entries and each seek discards the block read ahead.
constexpr std::size_t kReadBlock = 64 * 1024;
constexpr std::uint64_t kProgressEvery = 8ull << 20;

struct ReadFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
struct WriteFree {
  void operator()(archive* a) const { archive_write_free(a); }
};

class Extraction {
 public:
  Extraction(const ArchiveVolumes& av, const UnpackLimits& limits, OperationContext& ctx,
             std::uint64_t base, std::uint64_t total)
      : av_(av), limits_(limits), ctx_(ctx), base_(base), total_(total) {}

  result<UnpackStats> run();

 private:
  ::lanspread::Failure fail(errc e, std::string_view why) {
    ctx_.detail = "archive '" + av_.volumes.front().filename().string() + "'";
    if (!entry_.empty()) ctx_.detail += ", entry '" + entry_ + "'";
    ctx_.detail += ": ";
    ctx_.detail += why;
    return ::lanspread::fail(make_error_code(e));
  }
  ::lanspread::Failure read_error(archive* a, bool opening);
  ::lanspread::Failure write_error(archive* a);
  result<bool> prepare_entry(archive_entry* e);  // false: skip the entry
  result<void> check_space(archive_entry* e);
  result<void> copy_data(archive* r, archive* w);
  result<void> check_complete(archive* r);
  result<void> compute_budget();
  ::lanspread::Failure no_space(std::uint64_t needed);

  const ArchiveVolumes& av_;
  const UnpackLimits& limits_;
  OperationContext& ctx_;
  std::uint64_t base_, total_;
  UnpackStats stats_;
  std::string entry_;
  std::uint64_t next_report_ = 0;
  // Of the current regular entry: the size its header declares (nullopt: unknown), and the
  // bytes written so far.
  std::optional<std::uint64_t> entry_declared_;
  std::uint64_t entry_written_ = 0;
  std::uint64_t entry_end_ = 0;  // highest offset written
  std::uint64_t free_bytes_ = 0;
};

std::string mib(std::uint64_t bytes) {
  return std::to_string((bytes + (1u << 20) - 1) >> 20) + " MiB";
}

::lanspread::Failure Extraction::read_error(archive* a, bool opening) {
  const int err = archive_errno(a);
  const char* msg = archive_error_string(a);
  const std::string why = msg ? msg : "unreadable archive";
  if (err > 0 && err != kErrnoFileFormat && err != EINVAL) {
    return fail(err == ENOSPC ? errc::disk_full : errc::io_error, why);
  }
  const bool unsupported =
      why.find("nsupported") != std::string::npos || why.find("ncrypt") != std::string::npos ||
      why.find("assphrase") != std::string::npos || (opening && err == kErrnoFileFormat);
  return fail(unsupported ? errc::unsupported_archive : errc::damaged_archive, why);
}

::lanspread::Failure Extraction::write_error(archive* a) {
  const int err = archive_errno(a);
  const char* msg = archive_error_string(a);
  const std::string why = msg ? msg : "cannot write";
  if (err == ENOSPC || err == EDQUOT) return fail(errc::disk_full, why);
  // libarchive's secure-extract refusals carry no errno of their own.
  if (err == kErrnoMisc || err == 0) return fail(errc::unsafe_entry, why);
  return fail(errc::io_error, why);
}

result<void> Extraction::compute_budget() {
  if (!limits_.check_free_space) {
    stats_.budget = std::numeric_limits<std::uint64_t>::max();
    return {};
  }
  free_bytes_ = limits_.assume_free_bytes;
  if (free_bytes_ == 0) {
    struct statvfs vfs {};
    if (::statvfs(".", &vfs) != 0) {  // the helper thread's working directory is `dest`
      return fail(errc::io_error,
                  std::string("cannot read the free space: ") + std::strerror(errno));
    }
    free_bytes_ = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  }
  const std::uint64_t reserve = free_bytes_ / 100 * limits_.reserve_percent + limits_.reserve_bytes;
  stats_.budget = free_bytes_ > reserve ? free_bytes_ - reserve : 0;
  return {};
}

::lanspread::Failure Extraction::no_space(std::uint64_t needed) {
  return fail(errc::not_enough_space, "needs at least " + mib(needed) + " but " + mib(free_bytes_) +
                                          " are free and a reserve of " +
                                          mib(free_bytes_ - stats_.budget) +
                                          " is kept; free space on the games disk and retry");
}

// Declared sizes count before the entry's first byte is written: an archive whose headers
// already promise more than fits is refused without filling the disk.
result<void> Extraction::check_space(archive_entry* e) {
  entry_written_ = 0;
  entry_end_ = 0;
  entry_declared_.reset();
  if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e)) return {};
  if (!archive_entry_size_is_set(e)) return {};  // counted block by block as it is written
  entry_declared_ = static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0));
  if (*entry_declared_ > stats_.budget - std::min(stats_.budget, stats_.bytes_written)) {
    return no_space(stats_.bytes_written + *entry_declared_);
  }
  return {};
}

result<bool> Extraction::prepare_entry(archive_entry* e) {
  if (archive_entry_is_encrypted(e)) {
    return fail(errc::unsupported_archive, "password-protected entries are not supported");
  }
  const char* raw = archive_entry_pathname_utf8(e);
  if (!raw) raw = archive_entry_pathname(e);
  if (!raw) {
    return fail(errc::damaged_archive,
                "an entry name is not valid text in the archive's character set");
  }
  entry_ = raw;
  auto rel = sanitize_entry_path(raw);
  if (!rel) return fail(errc::unsafe_entry, "absolute, '..' or reserved path refused");
  if (rel->empty()) return false;  // "./": the install directory itself
  const auto type = archive_entry_filetype(e);
  const char* link = archive_entry_hardlink_utf8(e);
  if (!link) link = archive_entry_hardlink(e);
  if (link) {
    auto target = sanitize_entry_path(link);
    if (!target || target->empty()) {
      return fail(errc::unsafe_entry, "hard link to a path outside the install directory");
    }
    // A hard link to a symlink is a second symlink whose relative target is read from
    // another directory, which can point outside. The working directory is `dest`.
    struct stat st {};
    if (::lstat(target->c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return fail(errc::unsafe_entry, "hard link to a symbolic link is refused");
    }
    archive_entry_copy_hardlink(e, target->c_str());
  } else if (type == AE_IFLNK) {
    const char* target = archive_entry_symlink_utf8(e);
    if (!target) target = archive_entry_symlink(e);
    if (!target || !check_symlink_target(*rel, target)) {
      return fail(errc::unsafe_entry, "symbolic link pointing outside the install directory");
    }
  } else if (type != AE_IFREG && type != AE_IFDIR) {
    return fail(errc::unsafe_entry, "device, FIFO or socket entries are refused");
  }
  archive_entry_copy_pathname(e, rel->c_str());
  // No setuid/setgid/sticky bits from an archive; the owner can always read and delete.
  auto perm = archive_entry_perm(e) & 0777;
  perm |= (type == AE_IFDIR) ? 0700 : 0600;
  archive_entry_set_perm(e, perm);
  return true;
}

// An entry whose data stops before its declared size would be padded with zeros on disk.
// The RAR 5 reader ends such an entry without an error when the last volume of a set is
// missing; other formats report truncation themselves. Tar is exempt: a sparse file may
// end in a hole that no data block covers.
result<void> Extraction::check_complete(archive* r) {
  if (!entry_declared_ || entry_end_ >= *entry_declared_) return {};
  if ((archive_format(r) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_TAR) return {};
  return fail(errc::damaged_archive, "ends after " + std::to_string(entry_end_) + " of its " +
                                         std::to_string(*entry_declared_) +
                                         " bytes: a volume is missing or the archive is cut short");
}

result<void> Extraction::copy_data(archive* r, archive* w) {
  for (;;) {
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    const int rc = archive_read_data_block(r, &buf, &size, &offset);
    if (rc == ARCHIVE_EOF) return check_complete(r);
    // libarchive reports a CRC mismatch as a mere warning; for game data it is damage.
    if (rc < ARCHIVE_OK) return read_error(r, false);
    if (ctx_.stop.stop_requested()) return fail(errc::cancelled, "cancelled");
    // Checked before the block is written: an entry never writes a byte beyond what its
    // header declared, and nothing is written beyond the budget.
    const auto end = static_cast<std::uint64_t>(std::max<la_int64_t>(offset, 0)) + size;
    if (entry_declared_ && (entry_written_ + size > *entry_declared_ || end > *entry_declared_)) {
      return fail(errc::oversized_entry, "writes more than the " +
                                             std::to_string(*entry_declared_) +
                                             " bytes its header declares; stopped there");
    }
    if (size > stats_.budget - std::min(stats_.budget, stats_.bytes_written)) {
      return no_space(stats_.bytes_written + size);
    }
    // A failed write(2) (ENOSPC included) and data beyond the declared size come back as
    // warnings; both mean the file on disk is not what the archive holds.
    if (archive_write_data_block(w, buf, size, offset) < ARCHIVE_OK) {
      const int err = archive_errno(w);
      if (err == 0 || err == kErrnoMisc) {
        return fail(errc::damaged_archive, "entry holds more data than its header declares");
      }
      return write_error(w);
    }
    entry_written_ += size;
    entry_end_ = std::max(entry_end_, end);
    stats_.bytes_written += size;
    if (stats_.bytes_written >= next_report_) {
      next_report_ = stats_.bytes_written + kProgressEvery;
      ctx_.report("extracting", base_ + static_cast<std::uint64_t>(archive_filter_bytes(r, -1)),
                  total_ ? total_ : stats_.archive_bytes);
    }
  }
}

result<UnpackStats> Extraction::run() {
  std::vector<std::string> names;
  for (const auto& v : av_.volumes) {
    struct stat st {};
    if (::stat(v.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
      return fail(errc::io_error, "cannot read volume '" + v.string() + "'");
    }
    stats_.archive_bytes += static_cast<std::uint64_t>(st.st_size);
    names.push_back(v.string());
  }
  std::vector<const char*> cnames;
  for (const auto& n : names) cnames.push_back(n.c_str());
  cnames.push_back(nullptr);

  if (auto b = compute_budget(); !b) return ::lanspread::fail(b.error());

  std::unique_ptr<archive, ReadFree> r(archive_read_new());
  std::unique_ptr<archive, WriteFree> w(archive_write_disk_new());
  if (!r || !w) return fail(errc::io_error, "out of memory");
  // An explicit list: formats such as mtree would read other files of this machine.
  archive_read_support_format_zip(r.get());
  archive_read_support_format_7zip(r.get());
  archive_read_support_format_rar(r.get());
  archive_read_support_format_rar5(r.get());
  archive_read_support_format_tar(r.get());
  archive_read_support_filter_gzip(r.get());
  archive_read_support_filter_bzip2(r.get());
  archive_read_support_filter_xz(r.get());
  archive_read_support_filter_lzma(r.get());
  archive_read_support_filter_lzip(r.get());
  archive_read_support_filter_zstd(r.get());
  archive_read_support_filter_lz4(r.get());
  archive_read_support_filter_compress(r.get());
  archive_write_disk_set_options(w.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                              ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                              ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS);
  if (archive_read_open_filenames(r.get(), cnames.data(), kReadBlock) != ARCHIVE_OK) {
    return read_error(r.get(), true);
  }
  bool first = true;
  for (;;) {
    if (ctx_.stop.stop_requested()) return fail(errc::cancelled, "cancelled");
    archive_entry* e = nullptr;
    entry_.clear();
    const int rc = archive_read_next_header(r.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return read_error(r.get(), first);
    first = false;
    if (++stats_.entries > limits_.max_entries) {
      return fail(errc::too_many_entries, "more than " + std::to_string(limits_.max_entries) +
                                              " entries; refused as an archive bomb");
    }
    auto wanted = prepare_entry(e);
    if (!wanted) return ::lanspread::fail(wanted.error());
    if (!*wanted) continue;
    if (auto space = check_space(e); !space) return ::lanspread::fail(space.error());
    if (archive_write_header(w.get(), e) < ARCHIVE_WARN) return write_error(w.get());
    if (archive_entry_filetype(e) == AE_IFREG && !archive_entry_hardlink(e)) {
      if (auto c = copy_data(r.get(), w.get()); !c) return ::lanspread::fail(c.error());
    }
    const int fin = archive_write_finish_entry(w.get());
    const int fin_errno = archive_errno(w.get());
    if (fin < ARCHIVE_WARN || (fin < ARCHIVE_OK && (fin_errno == ENOSPC || fin_errno == EDQUOT))) {
      return write_error(w.get());
    }
  }
  entry_.clear();
  if (archive_write_close(w.get()) < ARCHIVE_WARN) return write_error(w.get());
  ctx_.report("extracting", base_ + stats_.archive_bytes, total_ ? total_ : stats_.archive_bytes);
  return stats_;
}

}  // namespace

result<UnpackStats> LibarchiveUnpacker::unpack(const ArchiveVolumes& archive,
                                               const std::filesystem::path& dest,
                                               const UnpackLimits& limits, OperationContext& ctx,
                                               std::uint64_t progress_base,
                                               std::uint64_t progress_total) const {
  if (archive.volumes.empty()) {
    ctx.detail = "no archive volume given";
    return make_error_code(errc::io_error);
  }
  result<UnpackStats> out = make_error_code(errc::io_error);
  // The working directory is per process; a helper thread with its own (CLONE_FS) lets
  // libarchive resolve every entry relative to `dest` without touching other threads.
  std::thread helper([&] {
    // Entry names are converted to the thread's locale; without a UTF-8 one, libarchive
    // drops every non-ASCII name. A thread-local C.UTF-8 makes this independent of the
    // process locale (paths are written as UTF-8 bytes).
    const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
    if (utf8) ::uselocale(utf8);
    struct FreeLocale {
      locale_t loc;
      ~FreeLocale() {
        if (loc) {
          ::uselocale(LC_GLOBAL_LOCALE);
          ::freelocale(loc);
        }
      }
    } free_locale{utf8};
    if (::unshare(CLONE_FS) != 0 || ::chdir(dest.c_str()) != 0) {
      ctx.detail =
          "cannot enter install directory '" + dest.string() + "': " + std::strerror(errno);
      out = error_from_errno(errno);
      return;
    }
    out = Extraction(archive, limits, ctx, progress_base, progress_total).run();
  });
  helper.join();
  return out;
}

}  // namespace lanspread::install
