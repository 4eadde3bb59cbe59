// Finds a process that runs a game: its executable or its working directory lies inside the
// game's local/ (read from /proc/<pid>/exe and /proc/<pid>/cwd). Updating, uninstalling or
// removing files under a running game would pull them from under it, so the runtime asks
// this first. Processes whose /proc entries cannot be read (other users') are skipped.
// Blocking (reads /proc): call on the disk pool, never on the network thread.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

namespace lanspread::runtime {

struct GameProcess {
  int pid = 0;
  std::string name;  // /proc/<pid>/comm
};

// Bounds of one scan of /proc (docs/security.md, "Local processes").
struct ProcessScanLimits {
  // Entries of /proc looked at; a larger process table is only partly scanned.
  std::size_t max_processes = 65'536;
};

// The first process found running from `local` (a directory, or one deleted while a process
// still runs from it), or nullopt when there is none or /proc cannot be read. `proc` is the proc
// filesystem's mount point (tests may point it elsewhere).
std::optional<GameProcess> find_game_process(const std::filesystem::path& local,
                                             const ProcessScanLimits& limits = {},
                                             const std::filesystem::path& proc = "/proc");

// "process <name> (pid <pid>)", for messages.
std::string describe(const GameProcess& p);

}  // namespace lanspread::runtime
