// Opening files inside a directory tree without ever following a symbolic link.
//
// Game roots hold files that peers name and that a local user (or a peer, through an archive)
// may have replaced by links. Every open of such a file goes through here: each component of
// the relative path is resolved beneath the root and none may be a symlink, not even the last,
// so a link planted anywhere on the way (also after a scan) makes the open fail with ELOOP or
// ENOTDIR instead of reaching outside. On Linux >= 5.6 this is one openat2(2) with
// RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS; where the kernel (or a seccomp filter) refuses
// openat2, the same walk is done component by component with openat(2) and O_NOFOLLOW.
// Blocking; thread-safe.
#pragma once

#include "sys/error.hpp"
#include "sys/unique_fd.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace lanspread::sys {

// Opens a directory (O_DIRECTORY). Without `follow`, a symlink at `dir` itself is refused.
result<UniqueFd> open_dir(const std::filesystem::path& dir, bool follow = false);

// Opens `relative` ('/'-separated; no empty, "." or ".." component, not absolute) beneath the
// directory `dir_fd` with open(2) `flags` (O_NOFOLLOW and O_CLOEXEC are always added) and
// `mode` for O_CREAT. `shown` is the directory's name in error messages.
result<UniqueFd> open_beneath(int dir_fd, std::string_view relative, int flags, mode_t mode = 0,
                              std::string_view shown = {});
// The same below the directory `root`, which itself must not be a symlink.
result<UniqueFd> open_beneath(const std::filesystem::path& root, std::string_view relative,
                              int flags, mode_t mode = 0);

// Read-only open of a regular file beneath `root` (O_NONBLOCK, so a FIFO never blocks).
// Anything else than a regular file fails with EINVAL ("not a regular file").
result<UniqueFd> open_regular_beneath(const std::filesystem::path& root, std::string_view relative);

// Opens the directory `relative` beneath `dir_fd` ("" = `dir_fd` itself, duplicated), creating
// missing components (mode 0755) when `create` is set.
result<UniqueFd> open_dir_beneath(int dir_fd, std::string_view relative, bool create,
                                  std::string_view shown = {});

// Tests only: false forces the component-by-component walk even where openat2 works.
void use_openat2_for_testing(bool enabled) noexcept;

}  // namespace lanspread::sys
