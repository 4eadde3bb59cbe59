#include "install/remove_game.hpp"

#include "game_fixture.hpp"
#include "install/intent_log.hpp"
#include "install/recovery.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

namespace lanspread::install {
namespace {

using test::GameFixture;

RemoveGuards guards(bool in_flight = false) {
  return {[](std::string_view id) { return id != "unlisted"; },
          [in_flight](std::string_view) { return in_flight; }};
}

result<void> remove(const GameFixture& g, std::string_view id, const RemoveGuards& gu = guards()) {
  OperationContext ctx;
  auto r = remove_downloaded_game(g.games, id, gu, ctx);
  if (!r) EXPECT_FALSE(ctx.detail.empty());
  return r;
}

// Guards against removing anything but a downloaded, uninstalled, idle catalog game that is
// a real direct child of the games directory: each guard refuses, and nothing is deleted.
TEST(RemoveDownloadedGame, EveryGuardRefuses) {
  GameFixture g;
  g.publish_v1();
  const auto before = test::snapshot(g.games);
  auto expect_refused = [&](std::string_view id, errc e, const RemoveGuards& gu = guards()) {
    auto r = remove(g, id, gu);
    ASSERT_FALSE(r) << id;
    EXPECT_EQ(r.error(), make_error_code(e)) << id << ": " << r.error().message();
  };
  expect_refused("../game", errc::not_catalog_id);
  expect_refused("game/local", errc::not_catalog_id);
  expect_refused("", errc::not_catalog_id);
  expect_refused("unlisted", errc::not_catalog_id);
  expect_refused("missing", errc::bad_root);
  expect_refused("game", errc::not_catalog_id, RemoveGuards{});
  expect_refused("game", errc::in_flight, guards(true));
  EXPECT_EQ(test::snapshot(g.games), before);

  // A symlink named like a game, pointing at a real game elsewhere.
  test::TempDir elsewhere;
  test::make_root(elsewhere.path() / "victim", "1");
  fs::create_symlink(elsewhere.path() / "victim", g.games / "linked");
  expect_refused("linked", errc::bad_root);
  EXPECT_TRUE(fs::exists(elsewhere.path() / "victim" / "version.ini"));
  test::write_file(g.games / "afile", "x");
  expect_refused("afile", errc::bad_root);

  // Installed: local/ of any kind.
  fs::create_directory(g.local);
  expect_refused("game", errc::installed);
  fs::remove(g.local);
  fs::create_symlink("/", g.local);
  expect_refused("game", errc::installed);
  fs::remove(g.local);

  // Pending install state.
  std::string detail;
  ASSERT_TRUE(write_intent(g.root, {Operation::install, Phase::staging, "1"}, detail));
  expect_refused("game", errc::recovery_needed);
  fs::remove(g.root / ".lanspread.json");
  fs::create_directory(g.root / ".local.backup");
  expect_refused("game", errc::recovery_needed);
  fs::remove(g.root / ".local.backup");

  // version.ini missing, a directory, or a symlink.
  fs::rename(g.root / "version.ini", g.root / "v.ini");
  expect_refused("game", errc::not_downloaded);
  fs::create_directory(g.root / "version.ini");
  expect_refused("game", errc::not_downloaded);
  fs::remove(g.root / "version.ini");
  fs::create_symlink("v.ini", g.root / "version.ini");
  expect_refused("game", errc::not_downloaded);
  fs::remove(g.root / "version.ini");
  fs::rename(g.root / "v.ini", g.root / "version.ini");

  EXPECT_EQ(test::read_file(g.root / "readme.txt"), "v1 readme");
  ASSERT_TRUE(remove(g, "game"));
  EXPECT_FALSE(fs::exists(g.root));
  EXPECT_FALSE(fs::exists(g.games / ".lanspread.removing.game"));
  g.expect_settled();
}

// Guards against a crash during removal leaving a half-deleted game under its id, or a
// leftover that recovery does not finish.
TEST(RemoveDownloadedGame, CrashAtEveryStepIsFinishedByRecovery) {
  for (const char* step : {"mark_root", "move_root_away", "remove_root", "done"}) {
    GameFixture g;
    g.publish_v1();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      OperationContext ctx;
      ctx.step_hook = [&](std::string_view s) {
        if (s == step) ::kill(::getpid(), SIGKILL);
      };
      (void)remove_downloaded_game(g.games, "game", guards(), ctx);
      ::_exit(3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << step;
    for (const auto& rr : recover_games_dir(g.games)) ASSERT_TRUE(rr.report) << rr.name;
    // Either untouched and still removable, or gone completely.
    if (fs::exists(g.root)) {
      EXPECT_TRUE(fs::exists(g.root / "game.zip")) << step;
      EXPECT_FALSE(fs::exists(g.root / ".lanspread_owned")) << step;
      ASSERT_TRUE(remove(g, "game")) << step;
    }
    EXPECT_FALSE(fs::exists(g.root)) << step;
    EXPECT_FALSE(fs::exists(g.games / ".lanspread.removing.game")) << step;
    g.expect_settled();
  }
}

// Guards against a cancelled removal that keeps deleting, or that leaves a game which still
// says it is downloaded while files are missing: what is left is an unfinished download under
// the game's own name, with no reserved leftovers.
TEST(RemoveDownloadedGame, CancelStopsBetweenFilesAndLeavesAnUnfinishedDownload) {
  GameFixture g;
  g.publish_v1();
  for (int i = 0; i < 50; ++i) test::write_file(g.root / "data" / std::to_string(i), "chunk");
  std::stop_source stop;
  OperationContext ctx;
  ctx.stop = stop.get_token();
  ctx.progress = [&](const Progress& p) {
    if (p.done == 10) stop.request_stop();
  };
  auto r = remove_downloaded_game(g.games, "game", guards(), ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::cancelled)) << ctx.detail;
  ASSERT_TRUE(fs::is_directory(g.root));
  EXPECT_FALSE(fs::exists(g.root / "version.ini"));
  EXPECT_FALSE(fs::exists(g.root / ".lanspread_owned"));
  EXPECT_GT(test::snapshot(g.root).size(), 0u);
  for (const auto& e : fs::directory_iterator(g.games))
    EXPECT_FALSE(e.path().filename().string().starts_with(".lanspread")) << e.path();
}

}  // namespace
}  // namespace lanspread::install
