// How a download groups what it fetches into requests (transfer/pieces.hpp).
#include "transfer/pieces.hpp"

#include "proto/limits.hpp"

#include <gtest/gtest.h>

namespace lanspread::transfer {
namespace {

constexpr std::uint64_t kChunk = 64 * 1024;

// A manifest of `sizes` (a file each, path "f<i>"); `paths` overrides a file's path.
proto::Game manifest_of(const std::vector<std::uint64_t>& sizes,
                        const std::map<std::size_t, std::string>& paths = {}) {
  proto::Game g{"g", "1", kChunk, {}};
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    proto::GameFileDescription f{
        paths.contains(i) ? paths.at(i) : "f" + std::to_string(i), sizes[i], false, {}};
    f.chunk_hashes.resize(proto::chunk_count(sizes[i], kChunk));
    g.files.push_back(f);
  }
  return g;
}

// Every chunk of every file, in manifest order.
std::vector<ChunkRef> all_chunks(const proto::Game& g) {
  std::vector<ChunkRef> out;
  for (std::size_t i = 0; i < g.files.size(); ++i)
    for (std::uint64_t off = 0; off < g.files[i].size; off += kChunk)
      out.push_back({i, off, std::min(kChunk, g.files[i].size - off), {}});
  return out;
}

// Guards against small files costing a request each, or a batch a server must refuse: runs
// of whole small files share a piece up to one chunk's bytes, a large file's chunks stay
// pieces of their own and end a run, and every chunk is in exactly one piece, in order.
TEST(Pieces, SmallFilesShareAPieceUpToAChunk) {
  // 10 files of 10,000 bytes, a file of two and a half chunks, 3 small files.
  std::vector<std::uint64_t> sizes(10, 10'000);
  sizes.push_back(kChunk * 5 / 2);
  sizes.insert(sizes.end(), {1, 2, 3});
  const auto g = manifest_of(sizes);
  const auto chunks = all_chunks(g);
  const auto pieces = group_pieces(g, chunks);
  const std::vector<Piece> expected = {
      {0, 6, 60'000},  {6, 4, 40'000},                        // 6 fit in 65,536 bytes
      {10, 1, kChunk}, {11, 1, kChunk}, {12, 1, kChunk / 2},  // the large file
      {13, 3, 6}};
  EXPECT_EQ(pieces, expected);
}

// Guards against a GetGameFiles request over its bounds: at most kMaxFilesPerBatch files,
// and paths that stay far below the request frame's cap.
TEST(Pieces, BatchesAreBoundedInFilesAndPathBytes) {
  const auto many = manifest_of(std::vector<std::uint64_t>(600, 1));
  const auto pieces = group_pieces(many, all_chunks(many));
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].count, proto::kMaxFilesPerBatch);
  EXPECT_EQ(pieces[1].count, proto::kMaxFilesPerBatch);
  EXPECT_EQ(pieces[2].count, 600 - 2 * proto::kMaxFilesPerBatch);

  std::map<std::size_t, std::string> long_paths;
  for (std::size_t i = 0; i < 100; ++i) long_paths[i] = std::string(1000, 'a') + std::to_string(i);
  const auto wide = manifest_of(std::vector<std::uint64_t>(100, 1), long_paths);
  const auto wide_pieces = group_pieces(wide, all_chunks(wide));
  std::size_t files = 0;
  for (const auto& p : wide_pieces) {
    std::size_t bytes = 0;
    for (std::size_t i = p.first; i < p.first + p.count; ++i)
      bytes += 2 * wide.files[i].path.size() + 3;
    EXPECT_LE(bytes, kMaxBatchPathBytes);
    files += p.count;
  }
  EXPECT_EQ(files, 100u);
  EXPECT_GT(wide_pieces.size(), 1u);
}

// Guards against part of a file batched as if whole: a chunk left of a file that is
// otherwise on disk already (a resumed download) is no whole file, however small.
TEST(Pieces, OnlyWholeFilesAreBatched) {
  const auto g = manifest_of({100, 100, kChunk + 10, 100});
  std::vector<ChunkRef> chunks = {
      {0, 0, 100, {}}, {1, 0, 100, {}}, {2, kChunk, 10, {}}, {3, 0, 100, {}}};
  const std::vector<Piece> expected = {{0, 2, 200}, {2, 1, 10}, {3, 1, 100}};
  EXPECT_EQ(group_pieces(g, chunks), expected);
}

// Guards against downloaders of one manifest grouping files differently (a resumed one, an
// update): a partial source then holds pieces only in part, and a seeder cannot tell two
// downloaders' batches apart. Groups follow the manifest alone; a download that needs only
// some files of a group gets those in one piece, and never files of two groups.
TEST(Pieces, GroupsFollowTheManifestNotWhatIsMissing) {
  const auto g = manifest_of(std::vector<std::uint64_t>(10, 10'000));
  std::vector<ChunkRef> needed;
  for (std::size_t f : {1, 3, 4, 5, 6, 7}) needed.push_back({f, 0, 10'000, {}});
  // A fresh download's groups are files 0-5 and 6-9 (6 x 10,000 bytes fit in 65,536).
  const std::vector<Piece> expected = {{0, 4, 40'000}, {4, 2, 20'000}};
  EXPECT_EQ(group_pieces(g, needed), expected);
  const auto groups = file_groups(g);
  EXPECT_EQ(groups[0], groups[5]);
  EXPECT_NE(groups[5], groups[6]);
}

}  // namespace
}  // namespace lanspread::transfer
