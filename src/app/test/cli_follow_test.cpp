// How the CLI decides, from the daemon's events, that an operation it asked for ended.
#include "app/cli_follow.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace lanspread::app::cli {
namespace {
namespace json = boost::json;

json::value ev(std::string_view type, std::string_view data) {
  return json::object{{"seq", 1}, {"type", type}, {"data", json::parse(data)}};
}

TEST(CliFollow, GetWaitsForTheInstallAfterTheDownload) {
  // Guards against `get` exiting when the download ends, before the game is installed.
  OperationFollower f("openarena", FollowGoal::get);
  EXPECT_FALSE(f.on_event(ev("operation_begin", R"({"id":"openarena","kind":"download"})")).end);
  auto p = f.on_event(
      ev("operation_progress",
         R"({"id":"openarena","kind":"download","phase":"downloading","done":5,"total":10})"));
  ASSERT_TRUE(p.progress);
  EXPECT_EQ(p.progress->done, 5u);
  auto s =
      f.on_event(ev("operation_finished",
                    R"({"id":"openarena","kind":"download","bytes_fetched":10,"bytes_reused":0})"));
  EXPECT_TRUE(s.stage_finished);
  EXPECT_FALSE(s.end);
  EXPECT_TRUE(f.on_event(ev("operation_begin", R"({"id":"openarena","kind":"install"})")).relevant);
  auto e = f.on_event(ev("operation_finished", R"({"id":"openarena","kind":"install"})"));
  ASSERT_TRUE(e.end);
  EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::done);
  EXPECT_EQ(e.end->kind, "install");
}

TEST(CliFollow, IgnoresOtherGamesAndEndsItDidNotSeeBegin) {
  // Guards against `get` reporting success from another game's event, or from the end of an
  // older operation that was still in the stream when it subscribed.
  OperationFollower f("openarena", FollowGoal::install);
  EXPECT_FALSE(f.on_event(ev("operation_finished", R"({"id":"openarena","kind":"install"})")).end);
  EXPECT_FALSE(f.on_event(ev("operation_begin", R"({"id":"xonotic","kind":"install"})")).relevant);
  EXPECT_FALSE(f.on_event(ev("operation_finished", R"({"id":"xonotic","kind":"install"})")).end);
  f.on_event(ev("operation_begin", R"({"id":"openarena","kind":"update"})"));
  auto e = f.on_event(ev("operation_finished", R"({"id":"openarena","kind":"update"})"));
  ASSERT_TRUE(e.end);
  EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::done);
}

TEST(CliFollow, FailuresRefusalsAndCancelsCarryTheirReason) {
  // Guards against a failed download reported as success, or without the daemon's reason.
  {
    OperationFollower f("g", FollowGoal::get);
    f.on_event(ev("operation_begin", R"({"id":"g","kind":"download"})"));
    auto e =
        f.on_event(ev("operation_failed",
                      R"({"id":"g","kind":"download","reason":"disk full","rolled_back":true})"));
    ASSERT_TRUE(e.end);
    EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::failed);
    EXPECT_EQ(e.end->reason, "disk full");
  }
  {
    OperationFollower f("g", FollowGoal::get);
    auto e = f.on_event(ev("operation_refused", R"({"id":"g","reason":"no peer offers 'g'"})"));
    ASSERT_TRUE(e.end);
    EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::refused);
    EXPECT_EQ(e.end->reason, "no peer offers 'g'");
  }
  {
    OperationFollower f("g", FollowGoal::get);
    f.on_event(ev("operation_begin", R"({"id":"g","kind":"download"})"));
    f.on_event(ev("operation_finished", R"({"id":"g","kind":"download"})"));
    // The install the daemon starts after the download is refused: not a success.
    auto e = f.on_event(ev("operation_refused", R"({"id":"g","reason":"not downloaded"})"));
    ASSERT_TRUE(e.end);
    EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::refused);
  }
  {
    OperationFollower f("g", FollowGoal::uninstall);
    f.on_event(ev("operation_begin", R"({"id":"g","kind":"uninstall"})"));
    auto e = f.on_event(ev("operation_cancelled", R"({"id":"g","kind":"uninstall"})"));
    ASSERT_TRUE(e.end);
    EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::cancelled);
  }
}

TEST(CliFollow, CancelFollowsWhateverRuns) {
  // Guards against `cancel` waiting for a begin event of an operation that began long ago.
  OperationFollower f("g", FollowGoal::cancel);
  EXPECT_TRUE(f.running());
  auto e = f.on_event(ev("operation_cancelled", R"({"id":"g","kind":"download"})"));
  ASSERT_TRUE(e.end);
  EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::cancelled);
  EXPECT_EQ(e.end->kind, "download");
}

TEST(CliFollow, MissedEventsAreResolvedFromTheGame) {
  // Guards against a client that fell behind the event log waiting forever for an end it
  // will never receive.
  OperationFollower f("g", FollowGoal::get);
  f.on_event(ev("operation_begin", R"({"id":"g","kind":"download"})"));
  EXPECT_TRUE(f.on_event(json::parse(R"({"type":"missed","data":{"count":9000}})")).resync);
  // Still running (now the install): keep following.
  EXPECT_FALSE(f.resolve(json::parse(
      R"({"id":"g","installed":false,"active_operation":{"kind":"install","phase":"extracting"}})")));
  auto e = f.on_event(ev("operation_finished", R"({"id":"g","kind":"install"})"));
  ASSERT_TRUE(e.end);
  EXPECT_EQ(e.end->outcome, FollowEnd::Outcome::done);

  OperationFollower g("g", FollowGoal::get);
  g.on_event(ev("operation_begin", R"({"id":"g","kind":"download"})"));
  auto done = g.resolve(json::parse(
      R"({"id":"g","installed":true,"update_available":false,"active_operation":null})"));
  ASSERT_TRUE(done);
  EXPECT_EQ(done->outcome, FollowEnd::Outcome::done);

  OperationFollower h("g", FollowGoal::get);
  h.on_event(ev("operation_begin", R"({"id":"g","kind":"download"})"));
  auto lost = h.resolve(json::parse(R"({"id":"g","installed":false,"active_operation":null})"));
  ASSERT_TRUE(lost);
  EXPECT_EQ(lost->outcome, FollowEnd::Outcome::lost);
}

}  // namespace
}  // namespace lanspread::app::cli
