// The commit of an update: the staged files (update_staging.hpp) swapped in as one recoverable
// transaction, version.ini last (docs/install-journal.md, "Payload updates").
//
// Before the commit point the old version is untouched: the staged files and the new
// version.ini are made durable in the staging area. The commit point is the journal,
// `.lanspread.staging/commit.json`, written atomically and durably: it lists the staged files
// (with their sizes), the directories of the new version and the old entries to delete. From
// then on the swap only ever goes forward, here or in startup recovery, step by step and each
// step idempotent: drop the old version.ini (the root no longer claims a version while it holds
// a mix), delete the old entries, create the directories, rename each staged file into place,
// fsync the directories, rename the new version.ini in, delete the journal, delete the staging
// area. A crash before the journal leaves the old version; after it, recovery ends in the new
// one. Should a staged file be gone (deleted by hand), the swap cannot finish: the root is left
// without version.ini (not downloaded, never a mix that claims a version) and the next download
// repairs it.
//
// Blocking: run on the disk pool, or at startup before the runtime serves anything.
#pragma once

#include "transfer/update_staging.hpp"

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::transfer {

// A journal larger than this is not read (the swap is abandoned as unreadable). It lists at most
// the files of one manifest and the entries of one old version.
inline constexpr std::size_t kMaxCommitJournalBytes = 256ULL << 20;

struct CommitJournal {
  struct File {
    std::string path;
    std::uint64_t size = 0;
    friend bool operator==(const File&, const File&) = default;
  };
  std::string version;
  std::vector<File> files;          // staged files to rename into place
  std::vector<std::string> dirs;    // directories of the new version
  std::vector<std::string> remove;  // entries of the old version, deepest first
  friend bool operator==(const CommitJournal&, const CommitJournal&) = default;
};

std::string encode_journal(const CommitJournal& journal);
// Nothing that is not a well-formed journal of this format: paths must be relative and inside
// the root (no "..", no reserved name, not local/ or version.ini).
std::optional<CommitJournal> decode_journal(std::string_view json);

// Swaps the staged update into `area.root()`. `staged` is StagePlan::staged for `manifest`;
// every staged chunk must be verified and `sentinel` must be the new version.ini. Steps for the
// hook: "sync_staged", "write_staged_sentinel", "write_journal" (the commit point is just after
// it), then those of the swap: "drop_old_sentinel", "remove_old", "create_dirs",
// "move:<path>" per file, "sync_dirs", "commit_sentinel", "clear_journal", "remove_staging".
// On failure `detail` names the object; before the commit point the old version is untouched,
// after it the journal stays for startup recovery (errc::staging_lost: it was abandoned).
result<void> commit_update(const StagingArea& area, const proto::Game& manifest,
                           const std::vector<bool>& staged, std::string_view sentinel,
                           std::string& detail, const StepHook& hook = {});

struct UpdateRecovery {
  enum class Outcome {
    clean,           // nothing to do (staged work towards a newer version is kept for resume)
    rolled_forward,  // an interrupted swap was completed: the new version is in place
    tidied,          // a staging area that held no work, or an already committed one, was deleted
    abandoned,       // the swap could not be completed: the game is no longer marked downloaded
  };
  Outcome outcome = Outcome::clean;
  std::vector<std::string> notes;
};
std::string_view to_string(UpdateRecovery::Outcome o) noexcept;

// Completes or tidies the update state of one game root (the table in docs/install-journal.md).
// Fails only on filesystem errors (`detail` names the object; the journal stays, so the next
// start tries again).
result<UpdateRecovery> recover_update(const std::filesystem::path& root, std::string& detail,
                                      const StepHook& hook = {});

struct RootUpdateRecovery {
  std::string name;  // directory name inside the games dir
  result<UpdateRecovery> report = UpdateRecovery{};
  std::string detail;  // on failure: which object failed
};
// recover_update on every direct child directory of `games_dir` (not following symlinks) that
// has a staging area, only for catalog ids when a predicate is given.
std::vector<RootUpdateRecovery> recover_updates(
    const std::filesystem::path& games_dir,
    const std::function<bool(std::string_view)>& is_catalog_id = {});

}  // namespace lanspread::transfer
