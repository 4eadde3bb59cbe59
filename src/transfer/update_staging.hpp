// The staging area of an update and the check that fills it (docs/install-journal.md,
// "Payload updates").
//
// An update replaces a complete version (a regular version.ini) without touching it before
// the commit: a file whose bytes stay the same is left where it is; every other file of the new
// version is built in `<root>/.lanspread.staging/files/` at its relative path, from chunks
// already right there (an earlier attempt), chunks copied from the old file (copy_file_range,
// read/write where the filesystem cannot) and, for the rest, chunks fetched from peers. Until
// update_commit.hpp swaps the staged files in, the old version stays downloaded, served and
// installable, and a cancelled or failed update leaves it exactly as it was, with its staged
// work kept for the next attempt at the same version.
//
// The staging area is Lanspread's when it holds a readable state file (written right after
// the directory is made); anything else under that name is left alone and refused.
//
// Blocking (disk and hashing): run on the disk pool. Not thread-safe for one root: the runtime
// runs one operation per game.
#pragma once

#include "proto/messages.hpp"
#include "transfer/error.hpp"

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::transfer {

// Called with the name of each step just before it runs. Production leaves it empty; the crash
// tests kill the process at every step.
using StepHook = std::function<void(std::string_view step)>;
// Bytes done and bytes in all, for a progress report.
using CheckProgress = std::function<void(std::uint64_t done, std::uint64_t total)>;

// True when `root/version.ini` is a regular file: a complete version is on disk, and a download
// into this root is an update that must be staged.
bool has_complete_version(const std::filesystem::path& root);

struct StagingInfo {
  enum class Kind {
    absent,      // no staging area
    staged,      // ours, holding work towards `version`
    committing,  // ours, with a commit journal: the swap must be completed (recover_update)
    leftover,    // ours but without work (made, then killed before its state was written)
    foreign,     // not provably ours: not a directory, or no readable state and not empty
  };
  Kind kind = Kind::absent;
  std::string version;  // staged
  std::string problem;  // foreign: what is wrong with it
};
StagingInfo inspect_staging(const std::filesystem::path& root);

class StagingArea {
 public:
  // The staging area of `root` for `version`: reused when it holds work towards the same
  // version, discarded and made anew when its version is another (no longer the latest) or it is
  // a leftover, created when absent. A foreign one, or one whose commit is still to be completed,
  // is refused with errc::staging_blocked (`detail` says why).
  static result<StagingArea> open(const std::filesystem::path& root, std::string_view version,
                                  std::string& detail);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path dir() const;
  // Where the staged files live, at their relative paths.
  std::filesystem::path files() const;
  const std::string& version() const { return version_; }

 private:
  StagingArea(std::filesystem::path root, std::string version)
      : root_(std::move(root)), version_(std::move(version)) {}
  std::filesystem::path root_;
  std::string version_;
};

// Deletes the staging area of `root` when it is ours and holds no commit to complete; a foreign
// one stays (and is not an error). Durable (the root is fsynced).
result<void> discard_staging(const std::filesystem::path& root);
// Deletes the staging area whatever it holds, when the caller proved it is ours (by the journal
// it read). Durable.
result<void> remove_staging(const std::filesystem::path& root);

// What the check of an update found.
struct StagePlan {
  // Per manifest file: its new bytes are (to be) in the staging area. False for files that
  // stay as they are, directories and version.ini.
  std::vector<bool> staged;
  // Per manifest file and chunk: the right bytes are on disk already (in place, or staged now or
  // before). version.ini's single chunk is never ready: it is always fetched.
  std::vector<std::vector<bool>> ready;
  std::uint64_t reused = 0;  // bytes of the new version that need no fetching
  std::uint64_t copied = 0;  // of them, bytes copied from the old version's files now
};

// The check of an update, the staged counterpart of verify_local_chunks: hashes each file of
// the old version that the manifest names; a file whose size and every chunk match stays as it
// is. For each other file, sizes its staged copy, keeps the staged chunks already right (resume;
// ranges never written are not hashed), copies from the old file every chunk whose bytes it holds
// (at any chunk-aligned offset: same place, appended, or moved by whole chunks) and verifies the
// copy. Staged entries the manifest no longer needs are deleted. Nothing outside the staging area
// is written. `progress` counts bytes read of the old files and bytes checked of the new ones;
// `cancel` is looked at before each chunk (errc::cancelled). Steps for the hook:
// "stage:<path>" before a file is staged, "copy:<path>#<chunk>" before a chunk is copied.
result<StagePlan> stage_update(const StagingArea& area, const proto::Game& manifest,
                               const std::atomic<bool>* cancel = nullptr,
                               const CheckProgress& progress = {}, const StepHook& hook = {});

// Copies `length` bytes from `from` at `from_offset` to `to` at `to_offset` with
// copy_file_range (no copy through user space; a block clone where the filesystem shares
// extents), falling back to pread/pwrite where the kernel or filesystem cannot.
result<void> copy_range(int from, std::uint64_t from_offset, int to, std::uint64_t to_offset,
                        std::uint64_t length);

}  // namespace lanspread::transfer
