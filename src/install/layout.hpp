// Names inside a game root that the install module owns (DESIGN §4).
#pragma once

#include <string_view>

namespace lanspread::install::layout {

inline constexpr std::string_view kVersionIni = "version.ini";
inline constexpr std::string_view kLocal = "local";
inline constexpr std::string_view kStaging = ".local.installing";
inline constexpr std::string_view kBackup = ".local.backup";
inline constexpr std::string_view kIntent = ".lanspread.json";
inline constexpr std::string_view kIntentTmp = ".lanspread.json.tmp";
inline constexpr std::string_view kIntentCorrupt = ".lanspread.json.corrupt";
// Written into a directory Lanspread created; its presence proves the directory is ours.
inline constexpr std::string_view kOwnedMarker = ".lanspread_owned";
// Inside local/: the files the archives created, so an update can tell player files apart.
inline constexpr std::string_view kInstalledFiles = ".lanspread.files";
// A game root being removed is first renamed to this prefix + id inside the games dir.
inline constexpr std::string_view kRemovingPrefix = ".lanspread.removing.";

}  // namespace lanspread::install::layout
