// Game versions: how version.ini is read and how versions compare.
#pragma once

#include <boost/system/result.hpp>

#include <filesystem>
#include <string>
#include <string_view>

namespace lanspread::library {

// The version held by version.ini content: the value of a `version=` line if there is one
// (key case-insensitive, so `[game]\nversion=1.2` works), else the first non-empty line that
// is not a comment (`#`, `;`) or a `[section]`. Trimmed; must pass proto::validate_version.
boost::system::result<std::string> parse_version_ini(std::string_view content);

// Reads `path` (a regular file of at most 64 KiB, not followed through a symlink) and parses it.
boost::system::result<std::string> read_version_file(const std::filesystem::path& path);

// Natural order: runs of digits compare as numbers, everything else byte by byte, so
// "20240115" < "20241002", "1.9" < "1.10", "v2" < "v10". Returns <0, 0 or >0; equal only
// for identical strings.
int natural_compare(std::string_view a, std::string_view b) noexcept;

struct NaturalLess {
  bool operator()(std::string_view a, std::string_view b) const noexcept {
    return natural_compare(a, b) < 0;
  }
};

}  // namespace lanspread::library
