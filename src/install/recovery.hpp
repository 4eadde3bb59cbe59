// Startup recovery: brings every game root back to a consistent state after a crash, from
// the recorded intent plus what is on disk (the table in docs/install-journal.md).
//
// A reserved directory (.local.installing/, .local.backup/, .lanspread.removing.<id>/) is
// deleted only when the intent log or its .lanspread_owned marker proves Lanspread made it;
// anything else is left alone and reported. Blocking: run on a worker thread before the
// runtime serves or installs anything.
#pragma once

#include "install/error.hpp"

#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::install {

struct RecoveryReport {
  enum class Outcome {
    clean,           // nothing to do
    rolled_back,     // the old state (old local/, or not installed) was restored
    rolled_forward,  // the interrupted operation was completed
    tidied,          // only leftovers were removed; local/ was not touched
  };
  Outcome outcome = Outcome::clean;
  std::vector<std::string> notes;  // e.g. foreign directories left alone, corrupt intent
};

std::string_view to_string(RecoveryReport::Outcome o) noexcept;

// Recovers one game root. Fails only on filesystem errors (the intent is then kept, so the
// next start tries again); a corrupt or foreign intent log is set aside as
// .lanspread.json.corrupt and the root is recovered by the marker rules alone.
result<RecoveryReport> recover_root(const std::filesystem::path& root);

struct RootRecovery {
  std::string name;  // directory name inside the games dir
  result<RecoveryReport> report = RecoveryReport{};
};

// Recovers every direct child directory of `games_dir` (not following symlinks) that has
// install state, and deletes interrupted removals (.lanspread.removing.<id> with a marker).
// With `is_catalog_id`, other children are left alone as the scanner ignores them.
std::vector<RootRecovery> recover_games_dir(
    const std::filesystem::path& games_dir,
    const std::function<bool(std::string_view)>& is_catalog_id = {});

}  // namespace lanspread::install
