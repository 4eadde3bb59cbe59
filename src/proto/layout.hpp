// The one table of names inside a game root (docs/architecture.md, "The game directory").
// Every module that touches a game root takes its names from here.
#pragma once

#include <string_view>

namespace lanspread::proto::layout {

// Present as a regular file => the game is downloaded; its content is the version.
// Committed last by a download, through kVersionTmp; the old one parked as kVersionDiscarded.
inline constexpr std::string_view kVersionIni = "version.ini";
inline constexpr std::string_view kVersionTmp = ".version.ini.tmp";
inline constexpr std::string_view kVersionDiscarded = ".version.ini.discarded";
// Present as a directory => the game is installed. Never served, never in a manifest.
inline constexpr std::string_view kLocal = "local";
// Install transaction directories, each holding kOwnedMarker while Lanspread owns it.
inline constexpr std::string_view kStaging = ".local.installing";
inline constexpr std::string_view kBackup = ".local.backup";
// Written into a directory Lanspread created; its presence proves the directory is ours.
inline constexpr std::string_view kOwnedMarker = ".lanspread_owned";
// Install intent log (atomic write through kIntentTmp); a torn one is kept as kIntentCorrupt.
inline constexpr std::string_view kIntent = ".lanspread.json";
inline constexpr std::string_view kIntentTmp = ".lanspread.json.tmp";
inline constexpr std::string_view kIntentCorrupt = ".lanspread.json.corrupt";
// On-disk cache of sizes, mtimes and chunk hashes (tmp + rename, no fsync).
inline constexpr std::string_view kIndex = ".lanspread.index";
inline constexpr std::string_view kIndexTmp = ".lanspread.index.tmp";
// Inside local/: the files the archives created, so an update can tell player files apart.
inline constexpr std::string_view kInstalledFiles = ".lanspread.files";
// An update of a downloaded game stages the files that change here, so the version on disk
// stays whole, served and installable until the new one is swapped in (docs/install-journal.md,
// "Payload updates"). Inside it: kStagingState (which version is staged; its presence proves
// the directory is Lanspread's), kStagedFiles/ (the staged files at their relative paths) and,
// from the commit point until the swap is done, kCommitJournal.
inline constexpr std::string_view kUpdateStaging = ".lanspread.staging";
inline constexpr std::string_view kStagingState = "state.json";
inline constexpr std::string_view kStagingStateTmp = "state.json.tmp";
inline constexpr std::string_view kStagedFiles = "files";
inline constexpr std::string_view kCommitJournal = "commit.json";
inline constexpr std::string_view kCommitJournalTmp = "commit.json.tmp";
// A game root being removed is first renamed to this prefix + id inside the games dir.
inline constexpr std::string_view kRemovingPrefix = ".lanspread.removing.";

// Names starting with one of these (in any letter case) belong to Lanspread: never served,
// never accepted from a peer or an archive, never counted as payload.
inline constexpr std::string_view kReservedPrefixes[] = {".lanspread", ".local.", ".version.ini."};

}  // namespace lanspread::proto::layout
