// Validation of the names an archive asks us to create. Pure functions; no filesystem access.
#pragma once

#include "install/error.hpp"

#include <string>
#include <string_view>

namespace lanspread::install {

// Normalises an archive entry name into a relative '/'-separated path inside the install
// directory. Backslashes count as separators (archives made on Windows); "." and empty
// segments are dropped. Refused (errc::unsafe_entry): NUL, absolute paths, drive letters,
// any ".." segment, segments longer than 255 bytes, paths longer than 4096 bytes, segments
// ending in '.' or ' ' and Windows device names (CON, NUL.txt, com1 ...: on Windows they are
// another file or a device), and top-level names starting with ".lanspread" in any case
// (they would shadow Lanspread's own files).
// Returns "" for an entry naming the install directory itself (e.g. "./"), to be skipped.
result<std::string> sanitize_entry_path(std::string_view raw);

// A symlink entry at `entry` (already sanitised) pointing at `target` is allowed only when
// the target is relative, any ".." segments come first (so a symlink met later cannot
// redirect them), and, resolved from the link's directory, it stays inside the install
// directory. With writes through symlinks refused, every link then resolves inside.
result<void> check_symlink_target(std::string_view entry, std::string_view target);

}  // namespace lanspread::install
