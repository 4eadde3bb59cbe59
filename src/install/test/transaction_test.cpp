#include "game_fixture.hpp"
#include "install/installed_files.hpp"
#include "install/intent_log.hpp"
#include "install/recovery.hpp"

#include <gtest/gtest.h>

namespace lanspread::install {
namespace {

using test::GameFixture;
using test::TempDir;

// Guards against a fresh install that misses payload, leaves transaction leftovers, or
// installs version.ini or Lanspread's own files.
TEST(Install, FreshInstallExtractsArchivesAndCopiesLooseFiles) {
  GameFixture g;
  g.publish_v1();
  auto r = g.install();
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->updated);
  EXPECT_EQ(r->archives, 1u);
  EXPECT_EQ(r->loose_files, 1u);
  auto snap = test::snapshot(g.local);
  snap.erase(".lanspread.files");
  EXPECT_EQ(snap,
            (std::map<std::string, std::string>{{"bin/game.exe", "v1 exe"},
                                                {"bin/current", "-> game.exe"},
                                                {"config.ini", "default=1"},
                                                {"data/old_level.dat", std::string(20000, 'o')},
                                                {"readme.txt", "v1 readme"}}));
  EXPECT_EQ(read_installed_files(g.local)->size(), 5u);
  EXPECT_TRUE(fs::exists(g.root / "game.zip"));
  g.expect_settled();
}

// Guards against an update losing player files (saves, configs) or keeping files the new
// version no longer ships.
TEST(Install, UpdateCarriesPlayerFilesAndDropsRemovedGameFiles) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  g.play();
  g.publish_v2();
  OperationContext ctx;
  std::vector<std::string> phases;
  ctx.progress = [&](const Progress& p) {
    if (phases.empty() || phases.back() != p.phase) phases.emplace_back(p.phase);
  };
  auto r = g.install(ctx, "2");
  ASSERT_TRUE(r) << ctx.detail;
  EXPECT_TRUE(r->updated);
  EXPECT_EQ(r->carried_files, 2u);
  auto snap = test::snapshot(g.local);
  snap.erase(".lanspread.files");
  EXPECT_EQ(snap,
            (std::map<std::string, std::string>{{"bin/game.exe", "v2 exe"},
                                                {"config.ini", "default=2"},
                                                {"data/new_level.dat", std::string(30000, 'n')},
                                                {"readme.txt", "v2 readme"},
                                                {"saves/slot1.sav", "player progress"},
                                                {"user.cfg", "fov=110"}}));
  EXPECT_EQ(phases, (std::vector<std::string>{"extracting", "copying", "carrying"}));
  g.expect_settled();
}

// Guards against a player file being overwritten by a file the new version ships at the same
// path, and against it losing its player status at the update after (so being dropped).
TEST(Install, PlayerFileWinsAndStaysAPlayerFileAcrossUpdates) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  test::write_file(g.local / "data" / "new_level.dat", "my custom level");
  g.publish_v2();
  OperationContext ctx;
  ASSERT_TRUE(g.install(ctx, "2")) << ctx.detail;
  EXPECT_EQ(test::read_file(g.local / "data" / "new_level.dat"), "my custom level");
  fs::remove(g.root / "patch.7z");
  test::write_file(g.root / "version.ini", "3\n");
  ASSERT_TRUE(g.install(ctx, "3")) << ctx.detail;
  EXPECT_EQ(test::read_file(g.local / "data" / "new_level.dat"), "my custom level");
  EXPECT_EQ(test::read_file(g.local / "bin" / "game.exe"), "v2 exe");
}

// Guards against losing player files when local/ has no file list (installed by an older
// build or by hand): everything the new version does not ship is carried.
TEST(Install, UpdateWithoutFileListCarriesWhatTheNewVersionDoesNotShip) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  g.play();
  test::write_file(g.local / ".lanspread.files", "{corrupt");
  g.publish_v2();
  OperationContext ctx;
  ASSERT_TRUE(g.install(ctx, "2")) << ctx.detail;
  auto snap = test::snapshot(g.local);
  EXPECT_EQ(snap.at("saves/slot1.sav"), "player progress");
  EXPECT_EQ(snap.at("data/old_level.dat"), std::string(20000, 'o'));  // cannot tell it apart
  EXPECT_EQ(snap.at("config.ini"), "default=2");                      // shipped: new wins
}

// Guards against a failing update (hostile archive) damaging the installed game.
TEST(Install, FailedUpdateLeavesOldLocalIntact) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  g.play();
  const auto before = test::snapshot(g.local);
  g.publish_v2();
  test::write_archive(g.root / "zz_evil.zip", test::Format::zip,
                      {test::file("ok.txt", "fine"), test::file("../../escape.txt", "pwned")});
  OperationContext ctx;
  auto r = g.install(ctx, "2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::unsafe_entry));
  EXPECT_NE(ctx.detail.find("zz_evil.zip"), std::string::npos) << ctx.detail;
  EXPECT_EQ(test::snapshot(g.local), before);
  EXPECT_FALSE(fs::exists(g.games / "escape.txt"));
  g.expect_settled();
}

// Guards against a cancelled install leaving a partial tree or an intent behind.
TEST(Install, CancelRollsBack) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  const auto before = test::snapshot(g.local);
  g.publish_v2();
  std::stop_source stop;
  OperationContext ctx;
  ctx.stop = stop.get_token();
  ctx.step_hook = [&](std::string_view step) {
    if (step == "copy_loose_files") stop.request_stop();
  };
  auto r = g.install(ctx, "2");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::cancelled));
  EXPECT_EQ(test::snapshot(g.local), before);
  g.expect_settled();
}

// Guards against recovery deleting both the old and the new tree when something else
// creates local/ in the middle of an update's swap: all three trees and the intent stay
// until the obstacle is moved away, then the update completes.
TEST(Install, ForeignLocalDuringSwapKeepsBothTrees) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  g.play();
  const auto old_tree = test::snapshot(g.local);
  g.publish_v2();
  OperationContext ctx;
  ctx.step_hook = [&](std::string_view step) {
    if (step == "move_staging_to_local") test::write_file(g.local / "intruder.txt", "x");
  };
  ASSERT_FALSE(g.install(ctx, "2"));
  auto backup = test::snapshot(g.root / ".local.backup");
  backup.erase(".lanspread_owned");
  EXPECT_EQ(backup, old_tree);
  EXPECT_TRUE(fs::exists(g.root / ".local.installing" / "bin" / "game.exe"));
  EXPECT_TRUE(fs::exists(g.root / ".lanspread.json"));
  EXPECT_EQ(recover_root(g.root).error(), make_error_code(errc::foreign_directory));
  fs::remove_all(g.local);
  auto rec = recover_root(g.root);
  ASSERT_TRUE(rec) << rec.error().message();
  EXPECT_EQ(rec->outcome, RecoveryReport::Outcome::rolled_forward);
  EXPECT_EQ(test::read_file(g.local / "bin" / "game.exe"), "v2 exe");
  EXPECT_EQ(test::read_file(g.local / "saves" / "slot1.sav"), "player progress");
  g.expect_settled();
}

// Guards against reporting a failed update when a step after the swap fails but recovery
// completes the operation (here: the marker in the new local/ cannot be unlinked).
TEST(Install, FailureAfterSwapThatRecoveryCompletesIsSuccess) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  g.publish_v2();
  OperationContext ctx;
  ctx.step_hook = [&](std::string_view step) {
    if (step != "unmark_local") return;
    fs::remove(g.local / ".lanspread_owned");
    fs::create_directories(g.local / ".lanspread_owned" / "blocker");
  };
  auto r = g.install(ctx, "2");
  ASSERT_TRUE(r) << ctx.detail;
  EXPECT_TRUE(r->updated);
  EXPECT_EQ(test::read_file(g.local / "bin" / "game.exe"), "v2 exe");
  EXPECT_FALSE(fs::exists(g.root / ".local.backup"));
  EXPECT_FALSE(fs::exists(g.root / ".lanspread.json"));
}

// Guards against installing over unknown state: no version.ini, an unfinished operation, or
// a reserved directory that is not ours (which must also survive untouched).
TEST(Install, RefusesUnsafeStartingStates) {
  GameFixture g;
  OperationContext ctx;
  g.publish_v1();
  fs::remove(g.root / "version.ini");
  EXPECT_EQ(g.install(ctx).error(), make_error_code(errc::not_downloaded));
  fs::create_directory(g.root / "version.ini");
  EXPECT_EQ(g.install(ctx).error(), make_error_code(errc::not_downloaded));
  fs::remove(g.root / "version.ini");
  test::write_file(g.root / "version.ini", "1");

  test::write_file(g.root / ".local.installing" / "mine.txt", "someone's");
  EXPECT_EQ(g.install(ctx).error(), make_error_code(errc::foreign_directory));
  EXPECT_EQ(test::read_file(g.root / ".local.installing" / "mine.txt"), "someone's");
  fs::remove_all(g.root / ".local.installing");

  std::string detail;
  ASSERT_TRUE(write_intent(g.root, {Operation::install, Phase::staging, "1"}, detail));
  EXPECT_EQ(g.install(ctx).error(), make_error_code(errc::recovery_needed));
  fs::remove(g.root / ".lanspread.json");

  test::write_file(g.local, "a file named local");
  EXPECT_EQ(g.install(ctx).error(), make_error_code(errc::foreign_directory));
  fs::remove(g.local);

  TempDir empty;
  test::make_root(empty.path(), "1");
  EXPECT_EQ(install_game(empty.path(), g.options(), ctx).error(),
            make_error_code(errc::nothing_to_install));
  EXPECT_FALSE(fs::exists(empty.path() / "local"));
  EXPECT_EQ(install_game(g.root, InstallOptions{}, ctx).error(), make_error_code(errc::io_error));
}

// Guards against an uninstall that leaves part of local/ or deletes the downloaded payload.
TEST(Uninstall, RemovesLocalOnlyAndRefusesWhenNotInstalled) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  g.play();
  OperationContext ctx;
  ASSERT_TRUE(uninstall_game(g.root, ctx)) << ctx.detail;
  EXPECT_FALSE(fs::exists(g.local));
  EXPECT_TRUE(fs::exists(g.root / "game.zip"));
  EXPECT_EQ(test::read_file(g.root / "version.ini"), "1\n");
  g.expect_settled();
  auto again = uninstall_game(g.root, ctx);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), make_error_code(errc::not_installed));
  // Re-installing from the kept payload works.
  ASSERT_TRUE(g.install());
}

// Guards against a cancelled uninstall that keeps deleting, leaves its reserved directory or
// intent behind, or loses track of what it had not deleted yet.
TEST(Uninstall, CancelStopsBetweenFilesAndKeepsTheRestAsLocal) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  for (int i = 0; i < 50; ++i) test::write_file(g.local / "saves" / std::to_string(i), "save");
  const auto before = test::snapshot(g.local).size();
  std::stop_source stop;
  OperationContext ctx;
  ctx.stop = stop.get_token();
  std::uint64_t seen = 0;
  ctx.progress = [&](const Progress& p) {
    seen = p.done;
    if (p.done == 10) stop.request_stop();
  };
  auto r = uninstall_game(g.root, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::cancelled)) << ctx.detail;
  EXPECT_EQ(seen, 10u);
  ASSERT_TRUE(fs::is_directory(g.local));
  const auto after = test::snapshot(g.local);
  EXPECT_LT(after.size(), before);
  EXPECT_GT(after.size(), 0u);
  EXPECT_FALSE(after.contains(".lanspread_owned"));
  EXPECT_EQ(test::read_file(g.root / "version.ini"), "1\n");
  g.expect_settled();
  // The rest can still go.
  OperationContext again;
  ASSERT_TRUE(uninstall_game(g.root, again)) << again.detail;
  EXPECT_FALSE(fs::exists(g.local));
}

}  // namespace
}  // namespace lanspread::install
