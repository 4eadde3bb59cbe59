// What an install makes of a game root's payload (docs/install-journal.md, "Payload").
//
// Root-level files whose names end in a known archive suffix are extracted, in name order,
// so a later archive (e.g. a patch) overwrites files of an earlier one. Volumes of one
// archive are grouped: "x.part1.rar, x.part2.rar", "x.rar, x.r00 .. x.r99, x.s00 ..",
// "x.7z.001, .002".
// Every other payload file (including archives inside sub-directories, which are usually
// game data) is copied to the same relative path in local/ after the archives, so a game
// published as plain files installs as a copy and loose files next to an archive (patches,
// keys, readmes) end up in the game directory. version.ini and reserved names are never
// installed; symlinks and special files in the root are ignored (they are never served).
#pragma once

#include "install/error.hpp"
#include "install/unpacker.hpp"

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::install {

struct PayloadPlan {
  std::vector<ArchiveVolumes> archives;
  std::vector<std::string> loose_files;  // '/'-separated, relative to the root
  std::uint64_t archive_bytes = 0;
  std::uint64_t loose_bytes = 0;
};

// True when a root-level file of this name is extracted (case-insensitive suffix match).
bool is_archive_name(std::string_view name);

// Fails with unsupported_archive for split zips (.z01), which libarchive cannot read.
result<PayloadPlan> plan_payload(const std::filesystem::path& root, std::string& detail);

}  // namespace lanspread::install
