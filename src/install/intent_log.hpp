// The per-root install intent log `.lanspread.json` (docs/install-journal.md).
//
// An operation writes its intent (operation + phase) before each irreversible step and deletes
// the file when it is done; startup recovery reads it to decide whether to roll back or
// forward. Written atomically (tmp + fsync + rename + fsync of the root).
#pragma once

#include "install/error.hpp"

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace lanspread::install {

enum class Operation { install, update, uninstall };

enum class Phase {
  staging,   // building .local.installing/; the old local/ is untouched
  swapping,  // the staged tree is complete; moving it into local/
  cleanup,   // the new local/ is in place; leftovers may be deleted
  removing,  // uninstall: local/ is being moved away and deleted
};

struct Intent {
  Operation op = Operation::install;
  Phase phase = Phase::staging;
  std::string version;  // version being installed, for diagnostics only
};

std::string_view to_string(Operation op) noexcept;
std::string_view to_string(Phase phase) noexcept;

struct IntentRead {
  enum class State {
    absent,      // no intent: no operation was in flight
    valid,       // `intent` holds the recorded operation
    unreadable,  // corrupt, foreign, truncated, too large, or not a regular file
  };
  State state = State::absent;
  Intent intent;
  std::string problem;  // why an unreadable file was refused
};

// Never fails: anything that is not a well-formed intent of this format is `unreadable`.
IntentRead read_intent(const std::filesystem::path& root);

std::string encode_intent(const Intent& intent);
std::optional<Intent> decode_intent(std::string_view json) noexcept;

result<void> write_intent(const std::filesystem::path& root, const Intent& intent,
                          std::string& detail);
// Deletes the intent durably; an absent intent is success.
result<void> clear_intent(const std::filesystem::path& root, std::string& detail);

}  // namespace lanspread::install
