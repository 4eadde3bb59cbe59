#include "transfer/pieces.hpp"

#include "proto/layout.hpp"
#include "proto/limits.hpp"

namespace lanspread::transfer {

std::vector<std::size_t> file_groups(const proto::Game& manifest) {
  std::vector<std::size_t> group(manifest.files.size(), kNoGroup);
  std::size_t next = 0;
  bool open = false;  // the current group takes more whole small files
  std::uint64_t bytes = 0;
  std::size_t files = 0;
  std::size_t path_bytes = 0;
  for (std::size_t i = 0; i < manifest.files.size(); ++i) {
    const auto& f = manifest.files[i];
    if (f.is_dir || f.size == 0) continue;  // no chunk: nothing to fetch, no break in a run
    if (f.chunk_hashes.size() != 1 || f.path == proto::layout::kVersionIni) {
      open = false;
      continue;
    }
    // A path as a JSON string: quotes, a comma, and at worst an escape per byte.
    const std::size_t json = 2 * f.path.size() + 3;
    if (!open || bytes + f.size > manifest.chunk_size || files == proto::kMaxFilesPerBatch ||
        path_bytes + json > kMaxBatchPathBytes) {
      ++next;
      open = true;
      bytes = files = path_bytes = 0;
    }
    group[i] = next;
    bytes += f.size;
    ++files;
    path_bytes += json;
  }
  return group;
}

std::vector<Piece> group_pieces(const proto::Game& manifest, const std::vector<ChunkRef>& chunks) {
  const auto group = file_groups(manifest);
  std::vector<Piece> out;
  std::size_t last = kNoGroup;  // the group of the last piece, if it is one
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const ChunkRef& c = chunks[i];
    const auto& f = manifest.files[c.file];
    const bool whole = c.offset == 0 && c.length == f.size;
    const std::size_t g = whole ? group[c.file] : kNoGroup;
    if (g != kNoGroup && g == last && out.back().first + out.back().count == i) {
      ++out.back().count;
      out.back().length += c.length;
      continue;
    }
    out.push_back({i, 1, c.length});
    last = g;
  }
  return out;
}

}  // namespace lanspread::transfer
