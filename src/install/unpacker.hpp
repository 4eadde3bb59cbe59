// The Unpacker: extracts one archive (possibly split into volumes) into a directory.
//
// Injected into the peer runtime (`start_peer`), so a platform can supply another
// implementation (e.g. an external unrar); `LibarchiveUnpacker` is the default.
// Contract for every implementation:
//  - never creates, modifies or deletes anything outside `dest` (absolute paths, "..",
//    links escaping `dest`, writes through links, device nodes are refused);
//  - refuses archive bombs by the limits below, counting bytes actually written;
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

struct UnpackLimits {
  std::uint64_t max_entries = 1'000'000;
  // Refuse when bytes written exceed max_ratio x the archive's size on disk, once more than
  // ratio_floor bytes were written (small, highly compressible archives are normal).
  // 0 disables the check.
  std::uint64_t max_ratio = 200;
  std::uint64_t ratio_floor = 64ull << 20;
};

// One archive: the first volume, then the others in order (a single file in most cases).
struct ArchiveVolumes {
  std::vector<std::filesystem::path> volumes;
};

struct UnpackStats {
  std::uint64_t entries = 0;
  std::uint64_t bytes_written = 0;
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
