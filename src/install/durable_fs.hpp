// Crash-safe filesystem primitives used by the transactions (STYLE 9: write atomically).
// Every function reports failure as a value and, on failure, writes into `detail` which
// object failed and why. None follows a symlink it was not asked to follow.
#pragma once

#include "install/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace lanspread::install {

namespace fs = std::filesystem;

enum class NodeKind { absent, directory, regular, symlink, other };

// lstat-based: a symlink is reported as a symlink, never as its target.
NodeKind node_kind(const fs::path& p) noexcept;

// fsync of a directory, so that renames and unlinks inside it survive a power loss.
result<void> fsync_dir(const fs::path& dir, std::string& detail);

// Writes `data` to `dir/name` through `dir/name.tmp`: write, fsync, rename, fsync(dir).
result<void> write_file_atomic(const fs::path& dir, std::string_view name, std::string_view data,
                               std::string& detail);

// rename(2) followed by fsync of the parent of `to` (and of `from` if it differs).
result<void> rename_durable(const fs::path& from, const fs::path& to, std::string& detail);

// unlink of a file followed by fsync of its directory; an absent file is success.
result<void> remove_file_durable(const fs::path& p, std::string& detail);

// Recursively deletes `p` without following symlinks; an absent path is success. In a
// directory with an ownership marker the marker is deleted last.
result<void> remove_tree(const fs::path& p, std::string& detail);

// Creates `dir` (which must not exist) and its ownership marker.
result<void> create_owned_dir(const fs::path& dir, std::string& detail);
result<void> write_owned_marker(const fs::path& dir, std::string& detail);
// True when `dir` is a real directory (not a symlink) holding a regular marker file.
bool has_owned_marker(const fs::path& dir) noexcept;

// Flushes the filesystem holding `p` (syncfs): one call instead of an fsync per file.
result<void> sync_filesystem(const fs::path& p, std::string& detail);

// Reads at most `max_bytes` of a regular file without following a final symlink.
result<std::string> read_small_file(const fs::path& p, std::size_t max_bytes, std::string& detail);

}  // namespace lanspread::install
