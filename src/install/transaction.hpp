// Install, update and uninstall of one game root, as crash-safe transactions
// (docs/install-journal.md). Each writes its intent before every irreversible step; a failure
// or cancellation rolls back through `recover_root`, and a crash is repaired by the same
// function at the next start.
//
// Blocking: call from a worker thread. Callers serialise operations per game root (the
// runtime's per-id gating); two operations on one root at once are not supported.
#pragma once

#include "install/error.hpp"
#include "install/operation.hpp"
#include "install/unpacker.hpp"

#include <cstdint>
#include <filesystem>
#include <string>

namespace lanspread::install {

struct InstallOptions {
  const Unpacker* unpacker = nullptr;  // required; usually a LibarchiveUnpacker
  UnpackLimits limits;
  std::string version;  // the version being installed (from version.ini); recorded only
};

struct InstallReport {
  bool updated = false;  // an existing local/ was replaced
  std::uint64_t archives = 0;
  std::uint64_t entries = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t loose_files = 0;
  std::uint64_t carried_files = 0;  // player files brought over from the old local/
};

// Installs the downloaded game in `root` into root/local: a fresh install when local/ is
// absent, an update (player files carried over) when it exists. Refuses a root without a
// regular version.ini, with a pending intent, or with leftover reserved directories.
result<InstallReport> install_game(const std::filesystem::path& root, const InstallOptions& options,
                                   OperationContext& ctx);

// Deletes root/local (player files included: that is what uninstall means). The payload and
// version.ini stay, so the game can be installed again without a download.
result<void> uninstall_game(const std::filesystem::path& root, OperationContext& ctx);

}  // namespace lanspread::install
