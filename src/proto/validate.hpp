// Validation of every field a peer (or a file, or a user) can hand us.
// Each function returns an error value naming what is wrong; none throws.
#pragma once

#include "proto/error.hpp"
#include "proto/messages.hpp"

#include <cstdint>
#include <string_view>

namespace lanspread::proto {

// A game id: 1..64 chars of [a-z0-9_-], starting with a letter or digit.
result<void> validate_game_id(std::string_view id) noexcept;

// True for names the peer owns inside a game root and never serves or accepts: anything
// starting with ".lanspread", ".local." or ".version.ini." in any letter case (on the
// case-insensitive filesystems of Windows and macOS ".LANSPREAD.json" is ".lanspread.json").
bool is_reserved_name(std::string_view segment) noexcept;

// True for the names Lanspread itself creates: a reserved prefix in its own spelling. A walk
// skips these silently; other spellings are foreign files that cannot be shared.
bool is_own_name(std::string_view segment) noexcept;

// True when Windows would open a device instead of a file: CON, PRN, AUX, NUL, COM1-COM9,
// LPT1-LPT9 (also with a superscript 1-3), CONIN$, CONOUT$, in any case and with any
// extension ("nul.txt", "Com1.tar.gz").
bool is_windows_device_name(std::string_view segment) noexcept;

// A relative, '/'-separated path inside a game root that a peer may ask for or announce:
// no leading '/', no empty, "." or ".." segment, no backslash, colon, NUL or control char,
// no segment ending in '.' or ' ' (aliases on Windows), no reserved segment and no Windows
// device name, not under "local/" in any case (the installed tree is never served), no
// top-level spelling of "version.ini" other than the sentinel's own, bounded length and depth.
result<void> validate_relative_path(std::string_view path) noexcept;

// A version string: 1..128 printable chars, no control chars.
result<void> validate_version(std::string_view version) noexcept;

// The range [offset, offset + length) lies inside a file of `file_size` bytes, is not empty,
// does not overflow and is at most kMaxChunkSize long.
result<void> validate_range(std::uint64_t offset, std::uint64_t length,
                            std::uint64_t file_size) noexcept;

// Field checks of a decoded request (ids, paths, non-empty bounded chunk ranges).
result<void> validate_request(const Request& request) noexcept;

// Manifest invariants: valid id, version and chunk size, unique valid paths, directories
// without size or hashes, chunk-hash count matching each file's size, bounded totals.
result<void> validate_game(const Game& game) noexcept;

// Field checks of a decoded response, including the manifest invariants of `Game`:
// valid chunk size, unique valid paths, chunk-hash count matching each file's size.
result<void> validate_response(const Response& response) noexcept;

}  // namespace lanspread::proto
