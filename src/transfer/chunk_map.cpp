#include "transfer/chunk_map.hpp"

#include <bit>

namespace lanspread::transfer {

ChunkNumbering::ChunkNumbering(const proto::Game& manifest) : chunk_size_(manifest.chunk_size) {
  first_.reserve(manifest.files.size());
  for (const auto& f : manifest.files) {
    first_.push_back(total_);
    if (!f.is_dir) total_ += f.chunk_hashes.size();
  }
}

std::optional<ChunkBitmap> ChunkBitmap::from_bytes(std::span<const std::uint8_t> bytes,
                                                   std::uint64_t chunks) {
  if (bytes.size() != (chunks + 7) / 8) return std::nullopt;
  if (chunks % 8 != 0 && (bytes.back() & (0xffu >> (chunks % 8))) != 0) return std::nullopt;
  ChunkBitmap out(chunks);
  out.bytes_.assign(bytes.begin(), bytes.end());
  return out;
}

std::uint64_t ChunkBitmap::count() const {
  std::uint64_t n = 0;
  for (std::uint8_t b : bytes_) n += static_cast<std::uint64_t>(std::popcount(b));
  return n;
}

}  // namespace lanspread::transfer
