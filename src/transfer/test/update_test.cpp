// Updates on real files in temp dirs: what is staged, copied, fetched and swapped, and how the
// staging area and its journal are recovered.
#include "update_fixture.hpp"

#include "sys/open_beneath.hpp"

#include <algorithm>

namespace lanspread::transfer::test {
namespace {

const std::string kStaging(proto::layout::kUpdateStaging);

std::size_t index_of(const proto::Game& m, std::string_view path) {
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    if (m.files[i].path == path) return i;
  }
  ADD_FAILURE() << path << " is not in the manifest";
  return 0;
}

struct Stop {};  // thrown by a hook to stop an update where a cancel would

// Guards against an update touching the version in place before its commit, re-fetching bytes
// the old files hold, or staging files that do not change.
TEST(UpdateStaging, StagesChangedFilesAndCopiesTheirUnchangedChunks) {
  UpdateFixture f;
  std::vector<std::string> steps;
  auto run = f.update([&](std::string_view s) { steps.emplace_back(s); }, false);
  ASSERT_TRUE(run) << run.error().message();
  const auto& plan = run->plan;
  auto staged = [&](std::string_view p) { return plan.staged[index_of(f.manifest, p)]; };
  EXPECT_TRUE(staged("big.bin"));
  EXPECT_TRUE(staged("new/deep/n.bin"));
  EXPECT_TRUE(staged("dir2file"));
  EXPECT_TRUE(staged("file2dir/y.bin"));
  EXPECT_FALSE(staged("same.bin"));
  EXPECT_FALSE(staged("sub/keep.txt"));
  // Chunks 0, 2 and 3 stay where they were, chunk 4 comes from the old chunk 5.
  EXPECT_EQ(plan.ready[index_of(f.manifest, "big.bin")],
            (std::vector<bool>{true, false, true, true, true, false}));
  EXPECT_EQ(plan.copied, 4 * kChunk);
  EXPECT_EQ(run->fetched, kChunk + 100 + 3 * kChunk + 12 + 1 + 1);
  EXPECT_EQ(std::count(steps.begin(), steps.end(), "stage:same.bin"), 0);

  // Everything is staged and verified, and the version in place is byte for byte as it was.
  EXPECT_EQ(snapshot(f.root), f.v1);
  EXPECT_EQ(read_file(f.root / kStaging / "files/big.bin"), read_file(f.seed / "big.bin"));
  EXPECT_EQ(read_file(f.root / kStaging / "files/new/deep/n.bin"),
            read_file(f.seed / "new/deep/n.bin"));
  EXPECT_FALSE(fs::exists(f.root / kStaging / "files/same.bin"));
  EXPECT_EQ(f.installed(), "installed v1");
}

// Guards against a resumed update fetching again what an earlier attempt staged (only the
// half-written chunk is fetched again), and against staged work of another version being used.
TEST(UpdateStaging, ResumeKeepsStagedChunksAndDropsAnotherVersion) {
  UpdateFixture f;
  const std::uint64_t all = kChunk + 100 + 3 * kChunk + 12 + 1 + 1;
  // Stopped with n.bin's chunk 1 half written, as a cancel or a crash would leave it.
  EXPECT_THROW((void)f.update(
                   [](std::string_view s) {
                     if (s == "fetch_half:new/deep/n.bin#1") throw Stop{};
                   },
                   false),
               Stop);
  EXPECT_EQ(snapshot(f.root), f.v1);
  auto resumed = f.update({}, false);
  ASSERT_TRUE(resumed);
  // n.bin's chunk 1 (half written) and chunk 2, and version.ini.tmp, fetched after them.
  EXPECT_EQ(resumed->fetched, 2 * kChunk + 1);
  // A later version makes the staged work useless: it is discarded, everything is fetched.
  f.manifest.version = "3";
  auto other = f.update({}, false);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->fetched, all);
  EXPECT_EQ(inspect_staging(f.root).version, "3");
}

// Guards against the swap leaving anything of the old version behind, touching local/, or
// keeping its journal and staging area.
TEST(UpdateCommit, SwapsInTheNewVersion) {
  UpdateFixture f;
  auto run = f.update();
  ASSERT_TRUE(run) << run.error().message();
  EXPECT_EQ(snapshot(f.root), f.v2);
  EXPECT_EQ(read_file(f.root / "version.ini"), "2\n");
  EXPECT_EQ(f.installed(), "installed v1");
  EXPECT_FALSE(fs::exists(f.root / kStaging));
  // An update to what is already there fetches and changes nothing.
  auto again = f.update();
  ASSERT_TRUE(again);
  EXPECT_EQ(again->fetched, 0u);
  EXPECT_EQ(snapshot(f.root), f.v2);
}

// Guards against a swap that cannot finish (a staged file deleted by hand) leaving a root that
// claims a version it does not hold.
TEST(UpdateCommit, LostStagedFileLeavesTheGameNotDownloaded) {
  UpdateFixture f;
  auto run = f.update([&](std::string_view s) {
    if (s == "move:new/deep/n.bin") fs::remove(f.root / kStaging / "files/new/deep/n.bin");
  });
  ASSERT_FALSE(run);
  EXPECT_EQ(run.error(), errc::staging_lost);
  EXPECT_FALSE(fs::exists(f.root / "version.ini"));
  EXPECT_FALSE(fs::exists(f.root / kStaging));
  EXPECT_EQ(f.installed(), "installed v1");
}

// Guards against a directory under the staging name that Lanspread did not make being used or
// deleted, and against an empty one left by a crash blocking updates.
TEST(UpdateStaging, ForeignStagingIsLeftAlone) {
  UpdateFixture f;
  write_file(f.root / kStaging / "precious.txt", "someone's");
  std::string detail;
  auto area = StagingArea::open(f.root, "2", detail);
  ASSERT_FALSE(area);
  EXPECT_EQ(area.error(), errc::staging_blocked);
  EXPECT_NE(detail.find(kStaging), std::string::npos);
  auto rec = recover_update(f.root, detail);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->outcome, UpdateRecovery::Outcome::clean);
  EXPECT_EQ(rec->notes.size(), 1u);
  EXPECT_TRUE(discard_staging(f.root));
  EXPECT_EQ(read_file(f.root / kStaging / "precious.txt"), "someone's");

  fs::remove_all(f.root / kStaging);
  fs::create_directory(f.root / kStaging);  // made, then killed before its state was written
  rec = recover_update(f.root, detail);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->outcome, UpdateRecovery::Outcome::tidied);
  EXPECT_FALSE(fs::exists(f.root / kStaging));
  EXPECT_TRUE(f.update());
  EXPECT_EQ(snapshot(f.root), f.v2);
}

// Guards against a journal that cannot be read ending in a mix: with version.ini in place the
// root is whole and kept; without it the game is no longer claimed as downloaded.
TEST(UpdateRecovery, UnreadableJournal) {
  for (const bool sentinel : {true, false}) {
    UpdateFixture f;
    ASSERT_TRUE(f.update({}, false));
    write_file(f.root / kStaging / "commit.json", "{\"format\":\"lanspread.update-commit\"");
    if (!sentinel) fs::remove(f.root / "version.ini");
    std::string detail;
    auto rec = recover_update(f.root, detail);
    ASSERT_TRUE(rec) << detail;
    EXPECT_EQ(rec->outcome,
              sentinel ? UpdateRecovery::Outcome::tidied : UpdateRecovery::Outcome::abandoned);
    EXPECT_FALSE(fs::exists(f.root / kStaging));
    if (sentinel) EXPECT_EQ(snapshot(f.root), f.v1);
    EXPECT_EQ(f.installed(), "installed v1");
  }
}

// Guards against a journal (a file anyone on the machine may edit) deleting or moving anything
// outside the game's payload.
TEST(UpdateCommit, JournalRoundTripsAndRefusesPathsOutsideThePayload) {
  CommitJournal j{"2", {{"a/b.bin", 10}, {"c", 0}}, {"a"}, {"old/x", "old", "we:ird"}};
  auto back = decode_journal(encode_journal(j));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, j);
  for (const std::string bad : {"../x", "/etc", "local", "LOCAL/save", "version.ini",
                                ".lanspread.json", "a/.LANSPREAD.index", "a//b", "a/./b"}) {
    CommitJournal r = j;
    r.remove = {bad};
    EXPECT_FALSE(decode_journal(encode_journal(r))) << "remove " << bad;
    CommitJournal m = j;
    m.files = {{bad, 1}};
    EXPECT_FALSE(decode_journal(encode_journal(m))) << "file " << bad;
  }
  EXPECT_FALSE(decode_journal("{\"format\":\"lanspread.update-commit\",\"format_version\":2}"));
  EXPECT_FALSE(decode_journal("[]"));
}

// Guards against a local copy of a chunk landing at the wrong offset or coming back short.
TEST(UpdateStaging, CopyRangeCopiesBetweenOffsets) {
  TempDir dir;
  const std::string src = block(3 * kChunk, 1);
  write_file(dir / "src", src);
  write_file(dir / "dst", std::string(2 * kChunk, 'z'));
  auto in = sys::open_beneath(dir.path(), "src", O_RDONLY);
  auto out = sys::open_beneath(dir.path(), "dst", O_RDWR);
  ASSERT_TRUE(in && out);
  ASSERT_TRUE(copy_range(in->get(), 2 * kChunk, out->get(), kChunk / 2, kChunk));
  const std::string got = read_file(dir / "dst");
  EXPECT_EQ(got.substr(kChunk / 2, kChunk), src.substr(2 * kChunk, kChunk));
  EXPECT_EQ(got.substr(0, kChunk / 2), std::string(kChunk / 2, 'z'));
  // Beyond the end of the source: an error, not a short copy taken for a whole one.
  EXPECT_FALSE(copy_range(in->get(), 3 * kChunk - 10, out->get(), 0, 100));
}

}  // namespace
}  // namespace lanspread::transfer::test
