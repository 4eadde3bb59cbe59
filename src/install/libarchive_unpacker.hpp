// The default Unpacker, on libarchive: zip, 7z, rar4/rar5, tar with gzip/bzip2/xz/lzma/lzip/
// zstd/lz4/compress. All volumes of a multi-volume archive are opened as one stream
// (archive_read_open_filenames): RAR 4 and RAR 5 volume sets, and byte splits (.7z.001, …),
// which are plain concatenations. Multi-disk zips (.z01) are not readable by libarchive.
// Bombs are bounded by the free space of `dest` (UnpackLimits), never by a ratio.
//
// Each extraction runs on a helper thread that unshares its working directory (Linux
// CLONE_FS) and changes into `dest`, so entries are written by relative path with all of
// libarchive's secure flags (NODOTDOT, SYMLINKS, NOABSOLUTEPATHS) on top of this module's
// own entry checks. Progress callbacks run on that helper thread while the caller waits.
#pragma once

#include "install/unpacker.hpp"

namespace lanspread::install {

class LibarchiveUnpacker final : public Unpacker {
 public:
  result<UnpackStats> unpack(const ArchiveVolumes& archive, const std::filesystem::path& dest,
                             const UnpackLimits& limits, OperationContext& ctx,
                             std::uint64_t progress_base = 0,
                             std::uint64_t progress_total = 0) const override;
};

}  // namespace lanspread::install
