// The chunk map of a version (swarming, docs/protocol.md "GetChunkMap"): chunks numbered over
// the manifest's files in their order, each file's chunks in order (directories have none),
// and a bitmap of those held verified. Pure data; the bitmap's byte form is the wire's.
#pragma once

#include "proto/messages.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace lanspread::transfer {

// Where each file's chunks start in the manifest-wide numbering.
class ChunkNumbering {
 public:
  explicit ChunkNumbering(const proto::Game& manifest);
  std::uint64_t total() const { return total_; }
  // The number of chunk `offset / chunk_size` of file `file` (an index in the manifest).
  std::uint64_t index(std::size_t file, std::uint64_t offset) const {
    return first_[file] + offset / chunk_size_;
  }
  std::uint64_t first(std::size_t file) const { return first_[file]; }

 private:
  std::uint64_t chunk_size_;
  std::vector<std::uint64_t> first_;
  std::uint64_t total_ = 0;
};

class ChunkBitmap {
 public:
  explicit ChunkBitmap(std::uint64_t chunks = 0)
      : chunks_(chunks), bytes_(static_cast<std::size_t>((chunks + 7) / 8), 0) {}
  // A peer's bitmap for a manifest of `chunks` chunks: exactly ceil(chunks / 8) bytes, the
  // bits past the last chunk zero; nullopt otherwise.
  static std::optional<ChunkBitmap> from_bytes(std::span<const std::uint8_t> bytes,
                                               std::uint64_t chunks);

  std::uint64_t size() const { return chunks_; }
  bool test(std::uint64_t i) const {
    return i < chunks_ && (bytes_[i / 8] >> (7 - i % 8) & 1u) != 0;
  }
  void set(std::uint64_t i) {
    if (i < chunks_) bytes_[i / 8] |= static_cast<std::uint8_t>(0x80u >> (i % 8));
  }
  std::uint64_t count() const;
  const std::vector<std::uint8_t>& bytes() const { return bytes_; }

 private:
  std::uint64_t chunks_;
  std::vector<std::uint8_t> bytes_;
};

}  // namespace lanspread::transfer
