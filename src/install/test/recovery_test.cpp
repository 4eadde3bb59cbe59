#include "install/recovery.hpp"

#include "game_fixture.hpp"
#include "install/durable_fs.hpp"
#include "install/intent_log.hpp"

#include <gtest/gtest.h>

namespace lanspread::install {
namespace {

using Outcome = RecoveryReport::Outcome;
using test::GameFixture;

void mark(const fs::path& dir) {
  std::string detail;
  ASSERT_TRUE(write_owned_marker(dir, detail)) << detail;
}

// Guards against recovery deleting directories it cannot prove are Lanspread's when there is
// no intent: unmarked reserved directories stay, and are reported.
TEST(Recovery, LeavesUnmarkedReservedDirectoriesAlone) {
  GameFixture g;
  g.publish_v1();
  test::write_file(g.root / ".local.installing" / "x", "foreign");
  test::write_file(g.root / ".local.backup" / "y", "foreign");
  auto r = recover_root(g.root);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::clean);
  EXPECT_EQ(r->notes.size(), 2u);
  EXPECT_EQ(test::read_file(g.root / ".local.installing" / "x"), "foreign");
  EXPECT_EQ(test::read_file(g.root / ".local.backup" / "y"), "foreign");
}

// Guards against a corrupt intent log leading to data loss: the marked backup is the only
// copy of the game when local/ is missing, so it must come back; the corrupt log is kept
// aside for diagnosis.
TEST(Recovery, CorruptIntentRestoresMarkedBackupAndSetsLogAside) {
  GameFixture g;
  g.publish_v1();
  ASSERT_TRUE(g.install());
  g.play();
  const auto before = test::snapshot(g.local);
  fs::rename(g.local, g.root / ".local.backup");
  mark(g.root / ".local.backup");
  test::write_file(g.root / ".local.installing" / "half", "partial");
  mark(g.root / ".local.installing");
  test::write_file(g.root / ".lanspread.json", "\x01\x02garbage{{{");
  auto r = recover_root(g.root);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::rolled_back);
  EXPECT_EQ(test::snapshot(g.local), before);
  EXPECT_EQ(test::read_file(g.root / ".lanspread.json.corrupt"), "\x01\x02garbage{{{");
  g.expect_settled();
}

// Guards against recovery trusting a marker-less directory just because an intent exists
// for a different operation state, and against it crashing on a root that is a file.
TEST(Recovery, ValidIntentProvesOwnershipAndBadRootsFailCleanly) {
  GameFixture g;
  g.publish_v1();
  // Crash between mkdir and the marker: the intent proves the directory is ours.
  fs::create_directory(g.root / ".local.installing");
  std::string detail;
  ASSERT_TRUE(write_intent(g.root, {Operation::install, Phase::staging, "1"}, detail));
  auto r = recover_root(g.root);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->outcome, Outcome::rolled_back);
  g.expect_settled();
  EXPECT_FALSE(fs::exists(g.local));

  test::write_file(g.games / "plainfile", "x");
  EXPECT_EQ(recover_root(g.games / "plainfile").error(), make_error_code(errc::bad_root));
  EXPECT_EQ(recover_root(g.games / "missing").error(), make_error_code(errc::bad_root));
}

// Guards against startup recovery skipping roots with state, touching non-catalog folders,
// or deleting a removal directory that carries no marker.
TEST(Recovery, GamesDirPassRecoversRootsAndFinishesRemovals) {
  GameFixture g;
  g.publish_v1();
  std::string detail;
  ASSERT_TRUE(write_intent(g.root, {Operation::install, Phase::staging, "1"}, detail));
  fs::create_directories(g.games / "notacatalogid" / ".local.installing");
  mark(g.games / "notacatalogid" / ".local.installing");
  test::write_file(g.games / ".lanspread.removing.old" / "payload", "x");
  mark(g.games / ".lanspread.removing.old");
  test::write_file(g.games / ".lanspread.removing.foreign" / "payload", "x");
  const auto results = recover_games_dir(
      g.games, [](std::string_view id) { return id == "game" || id == "neighbour"; });
  std::map<std::string, Outcome> outcomes;
  for (const auto& rr : results) {
    ASSERT_TRUE(rr.report) << rr.name;
    outcomes[rr.name] = rr.report->outcome;
  }
  EXPECT_EQ(outcomes,
            (std::map<std::string, Outcome>{{"game", Outcome::rolled_back},
                                            {".lanspread.removing.old", Outcome::rolled_forward}}));
  EXPECT_FALSE(fs::exists(g.games / ".lanspread.removing.old"));
  EXPECT_TRUE(fs::exists(g.games / ".lanspread.removing.foreign" / "payload"));
  EXPECT_TRUE(fs::exists(g.games / "notacatalogid" / ".local.installing"));
  g.expect_settled();
}

// Guards against recovery rows no single crash produces (a directory lost or removed by
// hand between runs) destroying the only remaining copy of the game.
TEST(Recovery, UnusualStatesKeepTheOnlyCopy) {
  struct Case {
    Intent intent;
    bool local, staging, backup;
    const char* expect;  // which tree ends up as local/ ("" = none)
  };
  const Case cases[] = {
      {{Operation::update, Phase::swapping, "2"}, false, false, true, "backup"},
      {{Operation::update, Phase::staging, "2"}, false, true, true, "backup"},
      {{Operation::update, Phase::swapping, "2"}, false, true, true, "staging"},
      {{Operation::update, Phase::cleanup, "2"}, true, false, true, "local"},
      {{Operation::install, Phase::swapping, "1"}, true, true, false, "local"},
      {{Operation::uninstall, Phase::removing, ""}, false, false, true, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(to_string(c.intent.op)) + "/" +
                 std::string(to_string(c.intent.phase)));
    GameFixture g;
    g.publish_v1();
    auto tree = [&](const char* dirname, bool present) {
      if (!present) return;
      test::write_file(g.root / dirname / "which.txt", dirname);
    };
    tree("local", c.local);
    tree(".local.installing", c.staging);
    tree(".local.backup", c.backup);
    std::string detail;
    ASSERT_TRUE(write_intent(g.root, c.intent, detail));
    auto r = recover_root(g.root);
    ASSERT_TRUE(r) << r.error().message();
    const std::map<std::string, std::string> names = {
        {"local", "local"}, {"staging", ".local.installing"}, {"backup", ".local.backup"}};
    if (std::string(c.expect).empty()) {
      EXPECT_FALSE(fs::exists(g.local));
    } else {
      EXPECT_EQ(test::read_file(g.local / "which.txt"), names.at(c.expect));
    }
    g.expect_settled();
  }
}

}  // namespace
}  // namespace lanspread::install
