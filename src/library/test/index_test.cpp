#include "library/index.hpp"
#include "proto/layout.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

namespace lanspread::library {
namespace {

constexpr std::uint64_t kChunk = 8 * 1024 * 1024;

RootIndex sample() {
  RootIndex idx(kChunk);
  proto::Sha256 h;
  h.bytes.fill(0x11);
  idx.put("a.bin", {10, 123456789, {h}});
  idx.put("dir/b.bin", {kChunk + 1, 5, {h, h}});
  idx.put("empty", {0, 7, {}});
  return idx;
}

// Guards against the hash cache losing or altering entries across a save and load.
TEST(Index, RoundTripsAndLooksUpBySizeAndMtime) {
  testing::TempDir dir;
  const RootIndex idx = sample();
  ASSERT_TRUE(idx.save(dir.path()));
  EXPECT_FALSE(std::filesystem::exists(dir / proto::layout::kIndexTmp));
  auto loaded = RootIndex::load(dir.path(), kChunk);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(*loaded, idx);
  EXPECT_NE(loaded->lookup("a.bin", 10, 123456789), nullptr);
  EXPECT_EQ(loaded->lookup("a.bin", 11, 123456789), nullptr);  // size changed
  EXPECT_EQ(loaded->lookup("a.bin", 10, 123456780), nullptr);  // mtime changed
  EXPECT_EQ(loaded->lookup("zzz", 10, 123456789), nullptr);
}

// Guards against trusting a corrupt, foreign or self-contradicting index (it would serve
// wrong hashes and make every downloader reject our chunks).
TEST(Index, CorruptOrForeignIndexIsRefused) {
  testing::TempDir dir;
  ASSERT_TRUE(sample().save(dir.path()));
  const std::string good = testing::read_file(dir / proto::layout::kIndex);
  auto refused = [&](const std::string& content) {
    testing::write_file(dir / proto::layout::kIndex, content);
    return !RootIndex::load(dir.path(), kChunk);
  };
  EXPECT_TRUE(refused(""));
  EXPECT_TRUE(refused("garbage\x01\x02"));
  EXPECT_TRUE(refused(good.substr(0, good.size() / 2)));
  EXPECT_TRUE(refused("[]"));
  EXPECT_TRUE(refused(R"({"format":"other","version":1,"chunk_size":8388608,"files":[]})"));
  EXPECT_TRUE(
      refused(R"({"format":"lanspread.index","version":2,"chunk_size":8388608,"files":[]})"));
  EXPECT_TRUE(refused(R"({"format":"lanspread.index","version":1,"chunk_size":1,"files":[]})"));
  // Hash count does not match the size.
  EXPECT_TRUE(refused(R"({"format":"lanspread.index","version":1,"chunk_size":8388608,"files":[)"
                      R"({"path":"a","size":1,"mtime_ns":0,"hashes":[]}]})"));
  // Path escaping the root.
  EXPECT_TRUE(refused(R"({"format":"lanspread.index","version":1,"chunk_size":8388608,"files":[)"
                      R"({"path":"../a","size":0,"mtime_ns":0,"hashes":[]}]})"));
  EXPECT_TRUE(refused(R"({"format":"lanspread.index","version":1,"chunk_size":8388608,"files":[)"
                      R"({"path":"a","size":-5,"mtime_ns":0,"hashes":[]}]})"));
  // Other chunk size than the caller's.
  testing::write_file(dir / proto::layout::kIndex, good);
  EXPECT_FALSE(RootIndex::load(dir.path(), kChunk * 2));
  EXPECT_TRUE(RootIndex::load(dir.path(), kChunk));
  // Without a wanted size: its own, if the protocol allows it.
  auto own = RootIndex::load(dir.path(), std::nullopt);
  ASSERT_TRUE(own);
  EXPECT_EQ(own->chunk_size(), kChunk);
  testing::write_file(dir / proto::layout::kIndex,
                      R"({"format":"lanspread.index","version":1,"chunk_size":1024,"files":[]})");
  EXPECT_FALSE(RootIndex::load(dir.path(), std::nullopt));  // below the protocol's 64 KiB
  testing::write_file(dir / proto::layout::kIndex, good);
  // A symlinked index is not followed.
  std::filesystem::rename(dir / proto::layout::kIndex, dir / "elsewhere");
  std::filesystem::create_symlink(dir / "elsewhere", dir / proto::layout::kIndex);
  EXPECT_FALSE(RootIndex::load(dir.path(), kChunk));
}

}  // namespace
}  // namespace lanspread::library
