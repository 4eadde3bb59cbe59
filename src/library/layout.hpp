// Names inside a game root (docs/architecture.md, "The game directory").
#pragma once

#include <string_view>

namespace lanspread::library {

// Present as a regular file => the game is downloaded; its content is the version.
inline constexpr std::string_view kVersionFile = "version.ini";
// Present as a directory => the game is installed. Never served, never in a manifest.
inline constexpr std::string_view kLocalDir = "local";
inline constexpr std::string_view kIntentLog = ".lanspread.json";
inline constexpr std::string_view kIndexFile = ".lanspread.index";
inline constexpr std::string_view kIndexTmpFile = ".lanspread.index.tmp";
inline constexpr std::string_view kInstallingDir = ".local.installing";
inline constexpr std::string_view kBackupDir = ".local.backup";
inline constexpr std::string_view kOwnedMarker = ".lanspread_owned";
inline constexpr std::string_view kVersionTmp = ".version.ini.tmp";
inline constexpr std::string_view kVersionDiscarded = ".version.ini.discarded";

}  // namespace lanspread::library
