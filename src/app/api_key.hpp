// The local API's secret and the randomness behind every token of the API (docs/api.md,
// "Authentication"). The key lives in <state dir>/api-key; whoever can read that file can
// drive the daemon, so the file is 0600 in a 0700 directory owned by the daemon's user.
#pragma once

#include "app/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::app {

inline constexpr std::string_view kApiKeyFileName = "api-key";
inline constexpr std::size_t kApiKeyBytes = 32;  // 256 bits, written as 64 hex digits

// `bytes` random bytes from GnuTLS's key-grade generator (GNUTLS_RND_KEY), as lowercase hex.
result<std::string> random_hex(std::size_t bytes);

// Compares in time that depends only on the lengths, never on where the inputs differ.
bool equal_constant_time(std::string_view a, std::string_view b) noexcept;

std::filesystem::path api_key_path(const std::filesystem::path& state_dir);

// Makes `state_dir` private (created 0700 when missing, tightened to 0700 when looser; it
// must belong to this user), then returns the key from its api-key file. At first start
// the key is made and written atomically (sys::write_file_atomic: api-key.tmp created 0600,
// fsync, rename, directory fsync). A file that holds no key is an error, never silently
// replaced: clients may hold the old one. A key file with group or other bits is tightened
// to 0600, and an existing state dir open to others to 0700, each with a line for the
// person in `warnings` (the key may have leaked); a symlink at its name, or a key file or
// state dir of another user, is refused.
result<std::string> load_or_create_api_key(const std::filesystem::path& state_dir,
                                           std::vector<std::string>* warnings = nullptr);

}  // namespace lanspread::app
