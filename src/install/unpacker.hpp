// The Unpacker: extracts one archive (possibly split into volumes) into a directory.
//
// Injected into the peer runtime (`start_peer`), so a platform can supply another
// implementation (e.g. an external unrar); `LibarchiveUnpacker` is the default.
// Contract for every implementation:
//  - never creates, modifies or deletes anything outside `dest` (absolute paths, "..",
//    links escaping `dest`, writes through links, device nodes are refused);
//  - refuses archive bombs by the limits below: declared sizes against the free space before
//    writing, and bytes actually written (an entry never writes more than it declared);
//  - honours `ctx.stop` between data blocks and reports progress through `ctx.progress`;
//  - on failure leaves partial output in `dest` (the caller owns and deletes `dest`) and
//    fills `ctx.detail` with the archive, the entry and what to do.
// Blocking: call from a worker thread.
#pragma once

#include "install/error.hpp"
#include "install/operation.hpp"

#include <cstdint>
#include <filesystem>
#include <vector>

namespace lanspread::install {

// What an extraction may consume (docs/security.md, "Files and archives"). There is no
// ratio heuristic: real data (text, zero-filled maps) compresses far beyond any ratio a
// bomb check could use. What threatens the machine is a full disk, so that is what is bounded.
struct UnpackLimits {
  std::uint64_t max_entries = 1'000'000;
  // Free space of the destination's filesystem kept for everything else: this share of what
  // is free when the archive is opened plus a fixed reserve. Entries whose declared sizes
  // (summed, before each entry's first byte) or written bytes would use it are refused
  // (not_enough_space).
  std::uint64_t reserve_percent = 5;
  std::uint64_t reserve_bytes = 256ull << 20;
  // Tests only: when non-zero, used instead of the filesystem's free space.
  std::uint64_t assume_free_bytes = 0;
  // Tests only: false reaches the filesystem's own ENOSPC (disk_full) instead.
  bool check_free_space = true;
};

// One archive: the first volume, then the others in order (a single file in most cases).
struct ArchiveVolumes {
  std::vector<std::filesystem::path> volumes;
};

struct UnpackStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes_written = 0;
  std::uint64_t budget = 0;  // bytes the extraction was allowed to write (free space - reserve)
  std::uint64_t archive_bytes = 0;  // size of all volumes on disk
};

class Unpacker {
 public:
  virtual ~Unpacker() = default;
  // `dest` must be an existing directory. Progress is reported with phase "extracting" and
  // done/total counted in archive bytes consumed, offset by `progress_base` of
  // `progress_total` so a caller extracting several archives reports one running total.
  virtual result<UnpackStats> unpack(const ArchiveVolumes& archive,
                                     const std::filesystem::path& dest, const UnpackLimits& limits,
                                     OperationContext& ctx, std::uint64_t progress_base = 0,
                                     std::uint64_t progress_total = 0) const = 0;
};

}  // namespace lanspread::install
