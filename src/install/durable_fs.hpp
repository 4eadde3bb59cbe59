// Crash-safe filesystem primitives used by the transactions (STYLE 9: write atomically).
// Every function reports failure as a value and, on failure, writes into `detail` which
// object failed and why. None follows a symlink it was not asked to follow.
#pragma once

#include "install/error.hpp"
#include "install/operation.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <stop_token>
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

// Deletes what `dir` holds one entry at a time (deepest first, never following a symlink) and
// keeps `dir` and its ownership marker. Checks `stop` between entries: when it fires the walk
// ends with errc::cancelled and what was deleted stays deleted. `removed(done, total)` counts
// entries (total from a first walk). An absent `dir` is success.
result<void> remove_contents_stoppable(
    const fs::path& dir, const std::stop_token& stop,
    const std::function<void(std::uint64_t done, std::uint64_t total)>& removed,
    std::string& detail);

// remove_contents_stoppable with ctx's stop token, reporting phase "removing" through ctx;
// `removed` counts the entries deleted (also when it was stopped).
result<void> remove_contents_reporting(const fs::path& dir, const OperationContext& ctx,
                                       std::uint64_t& removed, std::string& detail);

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
