// The disk side of a download on real files in temp dirs.
#include "transfer/download_files.hpp"
#include "transfer/file_cache.hpp"
#include "transfer/sentinel_transaction.hpp"

#include "../../library/test/temp_dir.hpp"
#include "proto/layout.hpp"

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>

#include <gtest/gtest.h>

namespace lanspread::transfer {
namespace {

namespace fs = std::filesystem;
using lanspread::testing::read_file;
using lanspread::testing::TempDir;
using lanspread::testing::write_file;

constexpr std::uint64_t kChunk = 64 * 1024;

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

proto::GameFileDescription describe(std::string path, const std::string& content) {
  proto::GameFileDescription f{std::move(path), content.size(), false, {}};
  for (std::size_t off = 0; off < content.size(); off += kChunk) {
    f.chunk_hashes.push_back(
        library::sha256(bytes_of(std::string_view(content).substr(off, kChunk))));
  }
  return f;
}

std::string pattern(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + i * 31);
  return s;
}

// Guards against pre-created files of the wrong size, lost bytes that were already right
// (resume), and the sentinel being written early.
TEST(DownloadFiles, PrepareSizesFilesAndKeepsExistingBytes) {
  TempDir root;
  const std::string big = pattern(3 * kChunk + 10, 'a');
  write_file(root / "data/big.bin", big.substr(0, kChunk));       // first chunk already here
  write_file(root / "shrunk.bin", std::string(5 * kChunk, 'x'));  // longer than the new version
  proto::Game g{"alpha", "2", kChunk, {}};
  g.files.push_back({"data", 0, true, {}});
  g.files.push_back(describe("data/big.bin", big));
  g.files.push_back(describe("shrunk.bin", std::string(kChunk, 'y')));
  g.files.push_back({"empty.dir", 0, true, {}});
  g.files.push_back(describe("version.ini", "2\n"));
  ASSERT_TRUE(prepare_files(root.path(), g));
  EXPECT_EQ(fs::file_size(root / "data/big.bin"), big.size());
  EXPECT_EQ(read_file(root / "data/big.bin").substr(0, kChunk), big.substr(0, kChunk));
  EXPECT_EQ(fs::file_size(root / "shrunk.bin"), kChunk);
  EXPECT_TRUE(fs::is_directory(root / "empty.dir"));
  EXPECT_FALSE(fs::exists(root / "version.ini"));

  auto local = verify_local_chunks(root.path(), g);
  ASSERT_TRUE(local);
  EXPECT_EQ((*local)[1], (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ((*local)[2], std::vector<bool>{false});  // 'x' bytes, not 'y'
  EXPECT_EQ((*local)[4], std::vector<bool>{false});  // version.ini always fetched
}

// Guards against a game of thousands of small files waiting for all of them to be created
// before its first request, and against a small file left at a wrong size: a missing file of
// one chunk is left to its writer (which creates it and its directories), one already there
// is sized like any other, and a large file is created and sized up front.
TEST(DownloadFiles, SmallFilesAreCreatedByTheirWriter) {
  TempDir root;
  write_file(root / "maps/old.cfg", std::string(3 * kChunk, 'o'));  // a stale, longer file
  proto::Game g{"alpha", "2", kChunk, {}};
  g.files.push_back(describe("maps/a.cfg", "seta a 1\n"));
  g.files.push_back(describe("maps/old.cfg", "seta old 1\n"));
  g.files.push_back(describe("sounds/deep/b.wav", pattern(kChunk, 'b')));
  g.files.push_back(describe("data/big.bin", pattern(2 * kChunk + 1, 'g')));
  ASSERT_TRUE(prepare_files(root.path(), g));
  EXPECT_FALSE(fs::exists(root / "maps/a.cfg"));
  EXPECT_FALSE(fs::exists(root / "sounds"));
  EXPECT_EQ(fs::file_size(root / "maps/old.cfg"), g.files[1].size);
  EXPECT_EQ(fs::file_size(root / "data/big.bin"), 2 * kChunk + 1);
  auto local = verify_local_chunks(root.path(), g);
  ASSERT_TRUE(local);
  EXPECT_EQ((*local)[0], std::vector<bool>{false});  // not there: fetched

  const std::string b = pattern(kChunk, 'b');
  auto fd = open_for_write(root.path(), "sounds/deep/b.wav");
  ASSERT_TRUE(fd);
  ChunkWriter w(0, b.size(), g.files[2].chunk_hashes[0]);
  ASSERT_TRUE(w.write(*fd, {reinterpret_cast<const std::uint8_t*>(b.data()), b.size()}));
  EXPECT_TRUE(w.finish());
  ::close(*fd);
  EXPECT_EQ(read_file(root / "sounds/deep/b.wav"), b);
}

std::size_t open_fds() {
  return static_cast<std::size_t>(
      std::distance(fs::directory_iterator("/proc/self/fd"), fs::directory_iterator{}));
}

// Lowers the soft open-file limit for one scope.
struct FdLimit {
  explicit FdLimit(rlim_t soft) {
    ::getrlimit(RLIMIT_NOFILE, &saved);
    rlimit l = saved;
    l.rlim_cur = soft;
    ::setrlimit(RLIMIT_NOFILE, &l);
  }
  ~FdLimit() { ::setrlimit(RLIMIT_NOFILE, &saved); }
  rlimit saved{};
};

// Guards against hashing the whole of a freshly created game before fetching it: ranges that
// were never written (holes) are not hashed, so even a chunk of zeros, which such a range
// would match, counts as missing; written ranges are hashed as before.
TEST(DownloadFiles, NeverWrittenRangesAreNotHashed) {
  TempDir root;
  const std::string zeros(kChunk, '\0');
  const std::string middle = pattern(kChunk, 'm');
  proto::Game g{"alpha", "1", kChunk, {}};
  g.files.push_back(describe("sparse.bin", zeros + middle + zeros));
  ASSERT_TRUE(prepare_files(root.path(), g));  // sized, nothing written: one hole
  {
    auto fd = open_for_write(root.path(), "sparse.bin");
    ASSERT_TRUE(fd);
    ASSERT_EQ(::pwrite(*fd, middle.data(), middle.size(), kChunk), static_cast<ssize_t>(kChunk));
    ::close(*fd);
  }
  std::uint64_t reported = 0;
  auto local = verify_local_chunks(root.path(), g, nullptr,
                                   [&](std::uint64_t done, std::uint64_t) { reported = done; });
  ASSERT_TRUE(local);
  EXPECT_EQ((*local)[0], (std::vector<bool>{false, true, false}));
  EXPECT_EQ(reported, 3 * kChunk);  // the holes count as checked

  // The same bytes written out (no hole) are hashed and kept.
  write_file(root / "sparse.bin", zeros + middle + zeros);
  local = verify_local_chunks(root.path(), g);
  ASSERT_TRUE(local);
  EXPECT_EQ((*local)[0], (std::vector<bool>{true, true, true}));

  std::atomic<bool> cancel{true};
  EXPECT_EQ(verify_local_chunks(root.path(), g, &cancel).error(), errc::cancelled);
}

// Guards against one descriptor per file: a game with many more files than the open-file
// limit is written through a bounded cache, and the data reaches every file.
TEST(DownloadFiles, FileCacheStaysWithinItsCapacity) {
  TempDir root;
  proto::Game g{"alpha", "1", kChunk, {}};
  for (int i = 0; i < 300; ++i) g.files.push_back(describe("d/f" + std::to_string(i), "xy"));
  ASSERT_TRUE(prepare_files(root.path(), g));
  const std::size_t before = open_fds();
  FdLimit limit(before + 20);  // far fewer than 300 files
  {
    FileCache cache(root.path(), 8);
    for (int round = 0; round < 2; ++round) {
      for (int i = 0; i < 300; ++i) {
        auto lease = cache.acquire("d/f" + std::to_string(i));
        ASSERT_TRUE(lease) << i << ": " << lease.error().message();
        ASSERT_EQ(::pwrite(lease->fd(), "ok", 2, 0), 2);
        ASSERT_LE(cache.open_count(), 8u);
      }
    }
    EXPECT_LE(open_fds(), before + 8);
    EXPECT_TRUE(cache.sync_all());
    EXPECT_EQ(cache.open_count(), 0u);
  }
  EXPECT_EQ(open_fds(), before);
  EXPECT_EQ(read_file(root / "d/f0"), "ok");
  EXPECT_EQ(read_file(root / "d/f299"), "ok");
}

// Guards against a crash losing files of a download that says it is complete: a file in a
// new directory a/b/c is durable only when a, a/b and a/b/c are synced too, not only its
// direct parent.
TEST(DownloadFiles, EveryDirectoryOnTheWayToAFileIsSynced) {
  EXPECT_EQ(directories_of({"a/b/c/pak0.pk3", "a/b/x.cfg", "top.txt", "d/e"}),
            (std::set<std::string>{"a", "a/b", "a/b/c", "d"}));
  EXPECT_TRUE(directories_of({"version.ini"}).empty());
}

// Guards against a file closed by the cache being reopened through a symlink planted
// meanwhile, and against a descriptor shortage reported as something else ("disk full").
TEST(DownloadFiles, FileCacheRefusesLinksAndNamesFdExhaustion) {
  TempDir root;
  TempDir outside;
  write_file(outside / "target", "precious");
  write_file(root / "a.bin", "aa");
  write_file(root / "b.bin", "bb");
  FileCache cache(root.path(), 1);
  ASSERT_TRUE(cache.acquire("a.bin"));
  ASSERT_TRUE(cache.acquire("b.bin"));  // a.bin closed
  fs::remove(root / "a.bin");
  fs::create_symlink(outside / "target", root / "a.bin");
  EXPECT_EQ(cache.acquire("a.bin").error(), errc::bad_path);
  EXPECT_EQ(read_file(outside / "target"), "precious");

  FileCache starved(root.path(), 4);
  {
    const int lowest_free = ::dup(0);
    ::close(lowest_free);
    FdLimit limit(static_cast<rlim_t>(lowest_free));  // not one descriptor to spare
    auto r = starved.acquire("b.bin");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error(), errc::too_many_open_files);
    EXPECT_EQ(r.error().message().find("disk"), std::string::npos);
  }
}

// Guards against a symlink in a game folder redirecting a download's writes elsewhere.
TEST(DownloadFiles, SymlinksOnThePathAreRefused) {
  TempDir root;
  TempDir outside;
  fs::create_directory_symlink(outside.path(), root / "data");
  write_file(outside / "target", "precious");
  fs::create_symlink(outside / "target", root / "file.bin");
  EXPECT_EQ(open_for_write(root.path(), "data/new.bin").error(), errc::bad_path);
  EXPECT_EQ(open_for_write(root.path(), "file.bin").error(), errc::bad_path);
  EXPECT_EQ(open_for_write(root.path(), "../escape").error(), errc::bad_path);
  EXPECT_FALSE(fs::exists(outside / "new.bin"));
  EXPECT_EQ(read_file(outside / "target"), "precious");
}

// Guards against accepting bytes that do not match the manifest, or a short chunk.
TEST(DownloadFiles, ChunkWriterVerifies) {
  TempDir root;
  const std::string data = pattern(kChunk, 'q');
  const auto expected = library::sha256(bytes_of(data));
  auto fd = open_for_write(root.path(), "f.bin");
  ASSERT_TRUE(fd);
  {
    ChunkWriter w(kChunk, kChunk, expected);  // the second chunk of the file
    ASSERT_TRUE(w.write(*fd, bytes_of(data).first(1000)));
    ASSERT_TRUE(w.write(*fd, bytes_of(data).subspan(1000)));
    EXPECT_TRUE(w.finish());
    EXPECT_EQ(fs::file_size(root / "f.bin"), 2 * kChunk);
  }
  {
    ChunkWriter w(0, kChunk, expected);
    std::string bad = data;
    bad[77] ^= 1;
    ASSERT_TRUE(w.write(*fd, bytes_of(bad)));
    EXPECT_EQ(w.finish().error(), errc::chunk_corrupt);
  }
  {
    ChunkWriter w(0, kChunk, expected);
    ASSERT_TRUE(w.write(*fd, bytes_of(data).first(10)));
    EXPECT_EQ(w.finish().error(), errc::chunk_short);
    EXPECT_EQ(w.write(*fd, bytes_of(data)).error(), errc::chunk_corrupt);  // more than the chunk
  }
  ::close(*fd);
}

// Guards against files of an older version lingering after an update, or the update
// deleting the installed tree, our bookkeeping or the sentinel.
TEST(DownloadFiles, StaleEntriesAreRemovedDeepestFirst) {
  TempDir root;
  write_file(root / "keep.bin", "k");
  write_file(root / "old/deep/gone.bin", "g");
  write_file(root / "old.txt", "o");
  write_file(root / "version.ini", "1");
  write_file(root / "local/save.dat", "s");
  write_file(root / ".lanspread.json", "{}");
  proto::Game g{"alpha", "2", kChunk, {}};
  g.files.push_back(describe("keep.bin", "k"));
  const auto stale = stale_entries(root.path(), g);
  auto sorted = stale;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::string>{"old", "old.txt", "old/deep", "old/deep/gone.bin"}));
  // Children come before their directory, so deleting in order empties each one first.
  auto pos = [&](const std::string& e) {
    return std::find(stale.begin(), stale.end(), e) - stale.begin();
  };
  EXPECT_LT(pos("old/deep/gone.bin"), pos("old/deep"));
  EXPECT_LT(pos("old/deep"), pos("old"));
  ASSERT_TRUE(remove_entries(root.path(), stale));
  EXPECT_FALSE(fs::exists(root / "old"));
  EXPECT_FALSE(fs::exists(root / "old.txt"));
  EXPECT_TRUE(fs::exists(root / "keep.bin"));
  EXPECT_TRUE(fs::exists(root / "local/save.dat"));
  EXPECT_TRUE(fs::exists(root / "version.ini"));
  EXPECT_TRUE(fs::exists(root / ".lanspread.json"));
}

// Guards against an interrupted download looking downloaded, or a failed one restoring a
// sentinel over a payload that is now a mix of versions.
TEST(SentinelTransaction, ParksCommitsAndAborts) {
  TempDir root;
  write_file(root / "version.ini", "1\n");
  {
    auto tx = SentinelTransaction::begin(root.path());
    ASSERT_TRUE(tx);
    EXPECT_FALSE(fs::exists(root / "version.ini"));
    EXPECT_EQ(read_file(root / ".version.ini.discarded"), "1\n");
    ASSERT_TRUE(tx->commit(bytes_of("2\n")));
    EXPECT_EQ(read_file(root / "version.ini"), "2\n");
    EXPECT_FALSE(fs::exists(root / ".version.ini.discarded"));
    EXPECT_FALSE(fs::exists(root / ".version.ini.tmp"));
  }
  {
    auto tx = SentinelTransaction::begin(root.path());
    ASSERT_TRUE(tx);
    write_file(root / ".version.ini.tmp", "3\n");  // as if a commit died half-way
    tx->abort();
    EXPECT_FALSE(fs::exists(root / "version.ini"));
    EXPECT_FALSE(fs::exists(root / ".version.ini.discarded"));
    EXPECT_FALSE(fs::exists(root / ".version.ini.tmp"));
  }
  TempDir odd;
  fs::create_directories(odd / "version.ini");
  EXPECT_FALSE(SentinelTransaction::begin(odd.path()));
}

}  // namespace
}  // namespace lanspread::transfer
