// Kill-at-every-step tests: a child process runs an operation and is killed with SIGKILL
// just before one of its steps (or in the middle of an extraction); the parent then runs
// startup recovery and checks the invariants of docs/install-journal.md.
#include "game_fixture.hpp"
#include "install/recovery.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <functional>

namespace lanspread::install {
namespace {

using test::GameFixture;
using Snapshot = std::map<std::string, std::string>;

enum class Op { install, update, uninstall };

// A fixture in the state just before `op` runs.
void prepare(GameFixture& g, Op op) {
  g.publish_v1();
  // Large enough to report progress mid-extraction (progress comes every 8 MiB).
  test::write_archive(g.root / "big.tar", test::Format::tar,
                      {test::file("big/blob.bin", std::string(9 << 20, 'b'))});
  if (op == Op::install) return;
  ASSERT_TRUE(g.install());
  g.play();
  if (op == Op::update) g.publish_v2();
}

result<void> run(GameFixture& g, Op op, OperationContext& ctx) {
  if (op == Op::uninstall) return uninstall_game(g.root, ctx);
  auto r = g.install(ctx, op == Op::update ? "2" : "1");
  if (!r) return r.error();
  return {};
}

// The steps `op` goes through, in order, recorded from an uninterrupted run.
std::vector<std::string> steps_of(Op op) {
  GameFixture g;
  prepare(g, op);
  std::vector<std::string> steps;
  OperationContext ctx;
  ctx.step_hook = [&](std::string_view s) { steps.emplace_back(s); };
  EXPECT_TRUE(run(g, op, ctx)) << ctx.detail;
  return steps;
}

Snapshot final_state(Op op) {
  GameFixture g;
  prepare(g, op);
  OperationContext ctx;
  EXPECT_TRUE(run(g, op, ctx)) << ctx.detail;
  return test::snapshot(g.local);
}

// Runs `op` in a child killed at step `kill_at` (or at the first progress report when
// `kill_at` is "progress"), then recovers the root in this process.
void crash_and_recover(GameFixture& g, Op op, const std::string& kill_at) {
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    OperationContext ctx;
    ctx.step_hook = [&](std::string_view s) {
      if (s == kill_at) ::kill(::getpid(), SIGKILL);
    };
    ctx.progress = [&](const Progress& p) {
      if (kill_at == "progress" && p.phase == "extracting" && p.done < p.total) {
        ::kill(::getpid(), SIGKILL);
      }
    };
    (void)run(g, op, ctx);
    ::_exit(3);  // the step was never reached
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << kill_at;
  auto rec = recover_root(g.root);
  ASSERT_TRUE(rec) << kill_at << ": " << rec.error().message();
}

void check_op(Op op) {
  auto steps = steps_of(op);
  const auto has = [&](const char* s) {
    return std::find(steps.begin(), steps.end(), s) != steps.end();
  };
  ASSERT_TRUE(has("move_local_to_backup") || op == Op::install);
  ASSERT_TRUE(has(op == Op::uninstall ? "remove_backup" : "move_staging_to_local"));
  ASSERT_TRUE(op == Op::uninstall || (has("extract:big.tar") && has("extract:game.zip")));
  ASSERT_TRUE(has("clear_intent") && has("done"));
  if (op != Op::uninstall) steps.push_back("progress");
  const Snapshot after = final_state(op);
  for (const auto& step : steps) {
    SCOPED_TRACE("killed at " + step);
    GameFixture g;
    prepare(g, op);
    const Snapshot before = test::snapshot(g.local);
    const Snapshot payload_before = [&] {
      auto s = test::snapshot(g.root);
      std::erase_if(s, [](const auto& kv) { return kv.first.starts_with("local/"); });
      return s;
    }();
    crash_and_recover(g, op, step);
    const Snapshot now = test::snapshot(g.local);
    // Either the complete old or the complete new tree, never a mix.
    EXPECT_TRUE(now == before || now == after) << "local/ has " << now.size() << " files; old "
                                               << before.size() << ", new " << after.size();
    if (op != Op::uninstall && !before.empty()) {
      // Player files survive anything but an uninstall.
      EXPECT_EQ(now.at("saves/slot1.sav"), "player progress");
      EXPECT_EQ(now.at("user.cfg"), "fov=110");
    }
    // The downloaded payload is never touched by install-side operations.
    auto payload_now = test::snapshot(g.root);
    std::erase_if(payload_now, [](const auto& kv) { return kv.first.starts_with("local/"); });
    EXPECT_EQ(payload_now, payload_before);
    g.expect_settled();  // includes: the neighbouring game is intact
    // After recovery the operation can run (again) to completion.
    OperationContext ctx;
    if (op == Op::uninstall) {
      if (fs::exists(g.local)) EXPECT_TRUE(uninstall_game(g.root, ctx)) << ctx.detail;
      EXPECT_FALSE(fs::exists(g.local));
    } else {
      EXPECT_TRUE(g.install(ctx, op == Op::update ? "2" : "1")) << ctx.detail;
      EXPECT_EQ(test::snapshot(g.local), after);
    }
  }
}

// Guards against a crash at any step of a fresh install leaving a partial local/, a staging
// directory, or an intent that blocks the next install.
TEST(CrashRecovery, InstallKilledAtEveryStep) {
  check_op(Op::install);
}

// Guards against a crash at any step of an update mixing old and new files, losing player
// files, or leaving the game uninstalled.
TEST(CrashRecovery, UpdateKilledAtEveryStep) {
  check_op(Op::update);
}

// Guards against a crash at any step of an uninstall leaving a half-deleted local/.
TEST(CrashRecovery, UninstallKilledAtEveryStep) {
  check_op(Op::uninstall);
}

}  // namespace
}  // namespace lanspread::install
