#include "library/scan.hpp"
#include "library/error.hpp"
#include "library/hasher.hpp"
#include "library/index.hpp"
#include "proto/layout.hpp"
#include "temp_dir.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <set>

namespace lanspread::library {
namespace {

namespace fs = std::filesystem;
using testing::write_file;

constexpr std::uint64_t kSmallChunk = 64 * 1024;

const Catalog& test_catalog() {
  static const Catalog c = *Catalog::parse(
      "[alpha]\nname=Alpha\n[beta]\nname=Beta\n[gamma]\nname=Gamma\n[delta]\nname=Delta\n"
      "[eps]\nname=Eps\n",
      "test");
  return c;
}

ScanOptions small_chunks() {
  ScanOptions o;
  o.chunk_size = kSmallChunk;
  return o;
}

std::set<std::string> manifest_paths(const LocalGame& g) {
  std::set<std::string> out;
  for (const auto& f : g.manifest->files) out.insert(f.path);
  return out;
}

// Guards against reporting a download or install state that the files on disk do not imply.
TEST(Scan, StateFollowsTheSentinelAndLocalDir) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1.0\n");  // downloaded
  write_file(games / "alpha/data.pak", "payload");
  write_file(games / "beta/version.ini", "2\n");  // downloaded + installed
  fs::create_directories(games / "beta/local/bin");
  write_file(games / "gamma/data.pak", "partial");  // partial download, no sentinel
  fs::create_directories(games / "delta/local");    // installed without a download
  write_file(games / "not-in-catalog/version.ini", "1");
  write_file(games / "stray-file.txt", "x");

  auto lib = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(lib) << lib.error().message();
  ASSERT_EQ(lib->games.size(), 4u);
  const auto* a = lib->find("alpha");
  const auto* b = lib->find("beta");
  const auto* g = lib->find("gamma");
  const auto* d = lib->find("delta");
  ASSERT_TRUE(a && b && g && d);
  EXPECT_TRUE(a->downloaded);
  EXPECT_FALSE(a->installed);
  EXPECT_EQ(a->version, "1.0");
  EXPECT_TRUE(b->downloaded);
  EXPECT_TRUE(b->installed);
  EXPECT_FALSE(g->downloaded);
  EXPECT_FALSE(g->manifest);  // partial downloads are never offered
  EXPECT_EQ(g->size, 7u);
  EXPECT_FALSE(d->downloaded);
  EXPECT_TRUE(d->installed);
  EXPECT_EQ(lib->find("eps"), nullptr);  // no root at all
  EXPECT_EQ(lib->find("not-in-catalog"), nullptr);
  EXPECT_EQ(lib->ignored.size(), 2u);

  const auto summaries = lib->summaries();
  ASSERT_EQ(summaries.size(), 4u);
  EXPECT_EQ(summaries[0].id, "alpha");
  EXPECT_TRUE(summaries[0].downloaded);
  EXPECT_EQ(summaries[0].version, "1.0");
}

// Guards against serving the installed tree, our own bookkeeping files (an update's staged
// files among them), or anything reached through a symlink (which could leak files from
// outside the game root).
TEST(Scan, ManifestExcludesLocalReservedAndSymlinks) {
  testing::TempDir games;
  testing::TempDir outside;
  write_file(outside / "secret.txt", "do not serve");
  write_file(games / "alpha/version.ini", "1\n");
  write_file(games / "alpha/data/a.pak", "aaaa");
  write_file(games / "alpha/local/saves/slot1", "save");
  write_file(games / "alpha/.lanspread.json", "{}");
  write_file(games / "alpha/.local.installing/x", "x");
  write_file(games / "alpha/.version.ini.tmp", "2");
  write_file(games / "alpha/data/.lanspread.other", "x");
  write_file(games / "alpha/.lanspread.staging/state.json", "{}");
  write_file(games / "alpha/.lanspread.staging/files/data/new.pak", "staged, not yet committed");
  fs::create_directory_symlink(outside.path(), games / "alpha/linked-dir");
  fs::create_symlink(outside / "secret.txt", games / "alpha/data/linked-file");
  fs::create_directories(games / "alpha/data/empty-dir");

  auto lib = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(lib);
  const auto* a = lib->find("alpha");
  ASSERT_TRUE(a && a->manifest);
  EXPECT_EQ(manifest_paths(*a),
            (std::set<std::string>{"version.ini", "data", "data/a.pak", "data/empty-dir"}));
  EXPECT_EQ(a->size, 6u);  // version.ini + a.pak; nothing from local/ or reserved files
  bool mentions_symlink = false;
  for (const auto& p : a->problems) mentions_symlink |= p.find("symlink") != std::string::npos;
  EXPECT_TRUE(mentions_symlink);
}

// Guards against offering peers a file that aliases one of ours or a device on their
// (mostly Windows) machines; the owner is told which file is not shared and why.
TEST(Scan, ReportsNonPortableNamesAsNotShared) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1\n");
  write_file(games / "alpha/data/a.pak", "aaaa");
  write_file(games / "alpha/LOCAL/save.dat", "s");
  write_file(games / "alpha/.LANSPREAD.json", "{}");
  write_file(games / "alpha/Version.INI", "2\n");
  write_file(games / "alpha/data/NUL.txt", "n");
  write_file(games / "alpha/data/com1", "c");
  write_file(games / "alpha/data/trailing.", "t");

  auto lib = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(lib);
  const auto* a = lib->find("alpha");
  ASSERT_TRUE(a && a->manifest);
  EXPECT_EQ(manifest_paths(*a), (std::set<std::string>{"version.ini", "data", "data/a.pak"}));
  for (const char* name :
       {"LOCAL", ".LANSPREAD.json", "Version.INI", "data/NUL.txt", "data/com1", "data/trailing."}) {
    bool reported = false;
    for (const auto& p : a->problems) {
      reported |= p.find(std::string(name) + " cannot be shared") != std::string::npos;
    }
    EXPECT_TRUE(reported) << name;
  }
}

// Guards against manifests whose chunk hashes do not match the bytes a peer will send.
TEST(Scan, ChunkHashesMatchTheFileContent) {
  testing::TempDir games;
  std::string big(3 * kSmallChunk + 100, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131) >> 3);
  write_file(games / "alpha/version.ini", "7\n");
  write_file(games / "alpha/big.bin", big);
  write_file(games / "alpha/empty.bin", "");

  auto lib = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(lib);
  const auto& m = *lib->find("alpha")->manifest;
  EXPECT_EQ(m.chunk_size, kSmallChunk);
  EXPECT_EQ(m.version, "7");
  const proto::GameFileDescription* f = nullptr;
  for (const auto& x : m.files)
    if (x.path == "big.bin") f = &x;
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(f->chunk_hashes.size(), 4u);
  for (std::size_t c = 0; c < 4; ++c) {
    const std::string_view chunk = std::string_view(big).substr(c * kSmallChunk, kSmallChunk);
    EXPECT_EQ(f->chunk_hashes[c],
              sha256({reinterpret_cast<const std::uint8_t*>(chunk.data()), chunk.size()}))
        << c;
  }
  for (const auto& x : m.files)
    if (x.path == "empty.bin") EXPECT_TRUE(x.chunk_hashes.empty());
}

// Guards against a bad sentinel (directory, symlink, empty, garbage) being taken as a
// downloaded game with a version.
TEST(Scan, HostileVersionIni) {
  testing::TempDir games;
  testing::TempDir outside;
  write_file(outside / "v.ini", "9\n");
  fs::create_directories(games / "alpha/version.ini");  // a directory
  fs::create_directories(games / "beta");
  fs::create_symlink(outside / "v.ini", games / "beta/version.ini");        // a symlink
  write_file(games / "gamma/version.ini", "");                              // empty
  write_file(games / "delta/version.ini", std::string("\x01\x02\x03", 3));  // binary

  auto lib = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(lib);
  EXPECT_FALSE(lib->find("alpha")->downloaded);
  EXPECT_FALSE(lib->find("beta")->downloaded);
  EXPECT_FALSE(lib->find("alpha")->problems.empty());
  EXPECT_FALSE(lib->find("beta")->problems.empty());
  for (const char* id : {"gamma", "delta"}) {
    const auto* g = lib->find(id);
    EXPECT_TRUE(g->downloaded) << id;  // the sentinel is there...
    EXPECT_TRUE(g->version.empty()) << id;
    EXPECT_FALSE(g->manifest) << id;  // ...but nothing is offered without a version
    EXPECT_FALSE(g->summary().downloaded) << id;
    EXPECT_FALSE(g->problems.empty()) << id;
  }
}

// Guards against a symlinked game root redirecting the scan (and later removal) elsewhere.
TEST(Scan, SymlinkedRootIsIgnored) {
  testing::TempDir games;
  testing::TempDir outside;
  write_file(outside / "alpha/version.ini", "1");
  fs::create_directory_symlink(outside / "alpha", games / "alpha");
  auto lib = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->find("alpha"), nullptr);
  ASSERT_EQ(lib->ignored.size(), 1u);
  EXPECT_NE(lib->ignored[0].reason.find("symlink"), std::string::npos);
}

// Guards against an unusable games dir being reported as an empty library.
TEST(Scan, GamesDirErrors) {
  testing::TempDir games;
  EXPECT_EQ(scan_local_library(games / "missing", test_catalog()).error(), errc::games_dir_missing);
  write_file(games / "file", "x");
  EXPECT_EQ(scan_local_library(games / "file", test_catalog()).error(),
            errc::games_dir_not_directory);
}

// Guards against an unreadable payload file producing a manifest that peers would download
// as an incomplete game. Runs the scan as an unprivileged user so permissions apply.
TEST(Scan, UnreadableFileWithholdsTheManifest) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1");
  write_file(games / "alpha/ok.bin", "ok");
  write_file(games / "alpha/locked.bin", "secret");
  fs::permissions(games / "alpha/locked.bin", fs::perms::none);
  for (const auto& p : {games.path(), games / "alpha"}) fs::permissions(p, fs::perms(0755));

  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) ::_exit(10);
    ScanOptions o = small_chunks();
    o.use_index = false;
    auto lib = scan_local_library(games.path(), test_catalog(), o);
    if (!lib) ::_exit(11);
    const auto* a = lib->find("alpha");
    if (a == nullptr || !a->downloaded) ::_exit(12);
    if (a->manifest) ::_exit(13);
    bool named = false;
    for (const auto& p : a->problems) named |= p.find("locked.bin") != std::string::npos;
    ::_exit(named ? 0 : 14);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// Guards against rehashing unchanged files on every scan (slow startups) and against
// serving stale hashes after a file changed.
TEST(Scan, IndexSkipsUnchangedFilesAndCatchesChanges) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1");
  write_file(games / "alpha/a.bin", std::string(2 * kSmallChunk, 'a'));
  write_file(games / "alpha/b.bin", std::string(kSmallChunk, 'b'));

  std::atomic<std::uint64_t> total{0};
  ScanOptions o = small_chunks();
  o.progress = [&](std::uint64_t, std::uint64_t t) { total = t; };
  auto first = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_TRUE(first);
  EXPECT_EQ(total.load(), 3 * kSmallChunk + 1);
  ASSERT_TRUE(fs::exists(games / "alpha" / proto::layout::kIndex));

  total = 0;
  auto second = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_TRUE(second);
  EXPECT_EQ(total.load(), 0u);  // nothing hashed
  EXPECT_EQ(second->find("alpha")->manifest, first->find("alpha")->manifest);

  write_file(games / "alpha/b.bin", std::string(kSmallChunk, 'c'));  // new content + mtime
  auto third = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_TRUE(third);
  EXPECT_EQ(total.load(), kSmallChunk);  // only b.bin
  const std::string c(kSmallChunk, 'c');
  const auto expected = sha256({reinterpret_cast<const std::uint8_t*>(c.data()), c.size()});
  for (const auto& f : third->find("alpha")->manifest->files)
    if (f.path == "b.bin") EXPECT_EQ(f.chunk_hashes.at(0), expected);
}

// Guards against the rescan after a download hashing the whole game again (the download
// verified every chunk): the index written from the manifest serves the scan, and a file
// changed afterwards is hashed anew.
TEST(Scan, IndexFromADownloadedManifestIsUsed) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1");
  write_file(games / "alpha/a.bin", std::string(2 * kSmallChunk, 'a'));
  write_file(games / "alpha/b.bin", std::string(kSmallChunk, 'b'));
  ScanOptions o = small_chunks();
  o.use_index = false;
  auto reference = scan_local_library(games.path(), test_catalog(), o);  // the manifest
  ASSERT_TRUE(reference);
  ASSERT_FALSE(fs::exists(games / "alpha" / proto::layout::kIndex));
  const proto::Game manifest = *reference->find("alpha")->manifest;

  ASSERT_TRUE(index_verified(games / "alpha", manifest));
  std::atomic<std::uint64_t> total{0};
  o.use_index = true;
  o.progress = [&](std::uint64_t, std::uint64_t t) { total = t; };
  auto after = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_TRUE(after);
  EXPECT_EQ(total.load(), 0u);  // nothing hashed
  EXPECT_EQ(*after->find("alpha")->manifest, manifest);

  write_file(games / "alpha/b.bin", std::string(kSmallChunk, 'c'));
  auto changed = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_TRUE(changed);
  EXPECT_EQ(total.load(), kSmallChunk);  // only b.bin
}

// Guards against a change of the default chunk size (or a download whose manifest has another
// one) hashing every game again, and then offering manifests that differ from the ones the
// game's other holders offer for the same version: a game keeps its index's chunk size, and
// only a game without an index gets the scan's.
TEST(Scan, AGameKeepsTheChunkSizeOfItsIndex) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1");
  write_file(games / "alpha/a.bin", std::string(4 * kSmallChunk, 'a'));
  ScanOptions o = small_chunks();
  o.use_index = true;
  auto first = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_TRUE(first);
  const proto::Game manifest = *first->find("alpha")->manifest;
  ASSERT_EQ(manifest.chunk_size, kSmallChunk);

  write_file(games / "beta/version.ini", "1");
  write_file(games / "beta/b.bin", std::string(4 * kSmallChunk, 'b'));
  std::atomic<std::uint64_t> total{0};
  o.chunk_size = 2 * kSmallChunk;
  o.progress = [&](std::uint64_t, std::uint64_t t) { total = t; };
  auto again = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again->find("alpha")->manifest, manifest);
  EXPECT_EQ(again->find("beta")->manifest->chunk_size, 2 * kSmallChunk);
  EXPECT_EQ(total.load(), 4 * kSmallChunk + 1);  // beta only: its payload and version.ini
}

// Guards against a corrupt index crashing the scan or feeding wrong hashes into a manifest.
TEST(Scan, CorruptIndexIsRebuilt) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1");
  write_file(games / "alpha/a.bin", "hello");
  auto clean = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(clean);
  for (const std::string& junk :
       {std::string("\0\0\0garbage", 10), std::string("{\"format\":\"lanspread.index\""),
        std::string(R"({"format":"lanspread.index","version":1,"chunk_size":65536,"files":[)"
                    R"({"path":"a.bin","size":5,"mtime_ns":0,"hashes":["00"]}]})")}) {
    write_file(games / "alpha" / proto::layout::kIndex, junk);
    auto again = scan_local_library(games.path(), test_catalog(), small_chunks());
    ASSERT_TRUE(again);
    EXPECT_EQ(again->find("alpha")->manifest, clean->find("alpha")->manifest);
    EXPECT_TRUE(RootIndex::load(games / "alpha", kSmallChunk));  // rewritten, usable again
  }
}

// Guards against large roots being slow to list or truncated.
TEST(Scan, TenThousandFileRoot) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1");
  for (int d = 0; d < 100; ++d) {
    for (int f = 0; f < 100; ++f) {
      write_file(games / ("alpha/d" + std::to_string(d) + "/f" + std::to_string(f)),
                 std::to_string(d * 100 + f));
    }
  }
  auto lib = scan_local_library(games.path(), test_catalog(), small_chunks());
  ASSERT_TRUE(lib);
  const auto* a = lib->find("alpha");
  ASSERT_TRUE(a->manifest);
  EXPECT_EQ(a->file_count, 10'001u);
  EXPECT_EQ(a->manifest->files.size(), 10'001u + 100u);  // files + directories
}

// Guards against a cancelled scan running on or returning a half-built library.
TEST(Scan, CancelStopsHashing) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "1");
  write_file(games / "alpha/big.bin", std::string(64 * kSmallChunk, 'z'));
  std::atomic<bool> cancel{false};
  ScanOptions o = small_chunks();
  o.cancel = &cancel;
  o.threads = 1;
  std::atomic<int> calls{0};
  o.progress = [&](std::uint64_t, std::uint64_t) {
    if (++calls == 3) cancel = true;
  };
  auto lib = scan_local_library(games.path(), test_catalog(), o);
  ASSERT_FALSE(lib);
  EXPECT_EQ(lib.error(), errc::cancelled);
  EXPECT_LT(calls.load(), 64);
}

// Guards against a single-id rescan disagreeing with the full scan.
TEST(Scan, SingleGameRescan) {
  testing::TempDir games;
  write_file(games / "alpha/version.ini", "3");
  write_file(games / "alpha/x", "x");
  auto one = scan_game(games.path(), "alpha", small_chunks());
  ASSERT_TRUE(one);
  ASSERT_TRUE(one->has_value());
  auto all = scan_local_library(games.path(), test_catalog(), small_chunks());
  EXPECT_EQ((*one)->manifest, all->find("alpha")->manifest);
  auto none = scan_game(games.path(), "beta", small_chunks());
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->has_value());
  auto bad = scan_game(games.path(), "../etc", small_chunks());
  ASSERT_TRUE(bad);
  EXPECT_FALSE(bad->has_value());
}

}  // namespace
}  // namespace lanspread::library
