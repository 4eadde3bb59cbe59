// What a download requests at once: a piece is one chunk, or several whole small files (each
// a file of one chunk) fetched with one GetGameFiles request, so a game of thousands of small
// files costs a request per chunk's worth of them, not one per file. The session plans
// pieces; the chunks stay what is hashed, sealed and offered to other downloaders.
#pragma once

#include "proto/messages.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lanspread::transfer {

// One chunk still to fetch.
struct ChunkRef {
  std::size_t file;  // index in the manifest
  std::uint64_t offset;
  std::uint64_t length;
  proto::Sha256 hash;
};

// Chunks [first, first + count) of the chunk list, `length` bytes in all.
struct Piece {
  std::size_t first = 0;
  std::size_t count = 0;
  std::uint64_t length = 0;
  friend bool operator==(const Piece&, const Piece&) = default;
};

// Bytes of a GetGameFiles request's paths as JSON strings may take: its frame stays well
// under the 64 KiB request cap whatever the paths hold.
inline constexpr std::size_t kMaxBatchPathBytes = 48 * 1024;

inline constexpr std::size_t kNoGroup = static_cast<std::size_t>(-1);

// Per manifest file, the group of whole small files it belongs to (kNoGroup: none). Files of
// one chunk (not version.ini) that follow each other in the manifest (directories and empty
// files between them do not count) share a group while their bytes in all fit in one of the
// manifest's chunks, up to proto::kMaxFilesPerBatch files and kMaxBatchPathBytes of paths.
// Decided by the manifest alone, so every downloader of it groups the same files alike.
std::vector<std::size_t> file_groups(const proto::Game& manifest);

// Groups `chunks` (the ones still to fetch, in manifest order) into pieces: the files of one
// group that follow each other in `chunks` share a piece (a resumed download may need only
// some of a group); every other chunk is a piece of its own. Pieces list the chunks in order,
// each exactly once.
std::vector<Piece> group_pieces(const proto::Game& manifest, const std::vector<ChunkRef>& chunks);

}  // namespace lanspread::transfer
