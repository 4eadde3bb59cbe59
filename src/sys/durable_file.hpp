// Small files written atomically and durably, read with a bound (STYLE 9: write atomically).
//
// An atomic write goes through a temporary name in the same directory: the temporary is
// created afresh (O_EXCL | O_NOFOLLOW, so nothing planted at that name is written through),
// filled, fsynced and closed, renamed over the target, and the directory is fsynced, so after
// a crash the target holds either the old or the new content, never a mix. Blocking.
#pragma once

#include "sys/error.hpp"

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace lanspread::sys {

struct AtomicWriteOptions {
  mode_t mode = 0644;
  // Without it there is no fsync (caches that are validated when read and cheap to rebuild):
  // still never torn, but after a power loss the old, the new or no file may be there.
  bool durable = true;
  // Name of the temporary in the same directory; empty: `<name>.tmp`.
  std::string_view tmp_name = {};
};

// Writes `data` to `name` inside the directory `dir_fd` (`shown` names it in errors).
result<void> write_file_atomic(int dir_fd, std::string_view name, std::string_view data,
                               const AtomicWriteOptions& options = {}, std::string_view shown = {});
// The same inside the directory `dir` (a symlink to a directory is followed here: state
// directories may legitimately be links; game roots are opened with open_dir instead).
result<void> write_file_atomic(const std::filesystem::path& dir, std::string_view name,
                               std::string_view data, const AtomicWriteOptions& options = {});

// fsync of a directory, so that creations, renames and unlinks inside it survive a power loss.
result<void> fsync_dir(const std::filesystem::path& dir);
result<void> fsync_dir(int dir_fd, std::string_view shown = {});

// Writes all of `data` at the file offset of `fd` (EINTR and short writes handled).
result<void> write_all(int fd, std::string_view data, std::string_view shown);

// Reads a whole regular file of at most `max_bytes`, without following a symlink at `path`.
// A larger file (also one that grows while read) fails with EFBIG.
result<std::string> read_small_file(const std::filesystem::path& path, std::size_t max_bytes);
// The same from an open descriptor (from its current offset).
result<std::string> read_small_file(int fd, std::size_t max_bytes, std::string_view shown);

}  // namespace lanspread::sys
