// The crash matrix of an update: a child process runs the update (staging, local copies,
// fetches, every step of the swap) and is killed with SIGKILL just before one of its steps; the
// parent then runs startup recovery and checks that the game root holds the old version or the
// new one, byte for byte, never a mix, and that the update then completes, fetching only what
// the killed attempt had not staged.
#include "update_fixture.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <csignal>

namespace lanspread::transfer::test {
namespace {

std::vector<std::string> steps_of_an_update(std::uint64_t& fetched) {
  UpdateFixture f;
  std::vector<std::string> steps;
  auto run = f.update([&](std::string_view s) { steps.emplace_back(s); });
  EXPECT_TRUE(run);
  fetched = run ? run->fetched : 0;
  return steps;
}

// Bytes of the chunks whose fetch was complete before the process was killed at `steps[kill]`:
// a chunk is whole once the step after its "fetch_half" was reached.
std::uint64_t staged_before(const std::vector<std::string>& steps, std::size_t kill,
                            const proto::Game& m) {
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < kill; ++i) {
    if (!steps[i].starts_with("fetch_half:")) continue;
    const std::string tag = steps[i].substr(11);
    const auto hash = tag.rfind('#');
    const std::string path = tag.substr(0, hash);
    const std::uint64_t c = std::stoull(tag.substr(hash + 1));
    for (const auto& f : m.files) {
      if (f.path == path) bytes += std::min(kChunk, f.size - c * kChunk);
    }
  }
  return bytes;
}

// Guards against a crash at any point of an update leaving a mix of two versions, a game that
// claims a version it does not hold, a touched local/, or staged work thrown away.
TEST(UpdateCrash, KilledAtEveryStepEndsInTheOldOrTheNewVersion) {
  std::uint64_t full = 0;
  const auto steps = steps_of_an_update(full);
  const auto at = [&](std::string_view s) {
    return static_cast<std::size_t>(std::find(steps.begin(), steps.end(), s) - steps.begin());
  };
  // The matrix covers every phase: staging, local copies, fetches, each step of the swap.
  for (const char* s :
       {"stage:big.bin", "copy:big.bin#4", "fetch:big.bin#1", "fetch_half:new/deep/n.bin#2",
        "sync_staged", "write_staged_sentinel", "write_journal", "drop_old_sentinel", "remove_old",
        "create_dirs", "move:big.bin", "move:file2dir/y.bin", "sync_dirs", "commit_sentinel",
        "clear_journal", "remove_staging"}) {
    ASSERT_LT(at(s), steps.size()) << s;
  }
  const std::size_t commit_point = at("write_journal");  // the journal is written during it

  for (std::size_t i = 0; i < steps.size(); ++i) {
    const std::string& kill_at = steps[i];
    SCOPED_TRACE("killed at " + kill_at);
    UpdateFixture f;
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      (void)f.update([&](std::string_view s) {
        if (s == kill_at) ::kill(::getpid(), SIGKILL);
      });
      ::_exit(3);  // the step was never reached
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    std::string detail;
    auto rec = recover_update(f.root, detail);
    ASSERT_TRUE(rec) << detail;
    // Up to the journal the old version is untouched; from it on recovery ends in the new one.
    if (i <= commit_point) {
      EXPECT_EQ(snapshot(f.root), f.v1);
      EXPECT_NE(rec->outcome, UpdateRecovery::Outcome::rolled_forward);
    } else {
      EXPECT_EQ(snapshot(f.root), f.v2);
    }
    EXPECT_EQ(f.installed(), "installed v1");

    // The update then completes, fetching only what was not staged before the crash.
    auto again = f.update();
    ASSERT_TRUE(again) << again.error().message();
    EXPECT_EQ(snapshot(f.root), f.v2);
    EXPECT_EQ(again->fetched, i <= commit_point ? full - staged_before(steps, i, f.manifest) : 0);
    EXPECT_FALSE(fs::exists(f.root / std::string(proto::layout::kUpdateStaging)));
  }
}

}  // namespace
}  // namespace lanspread::transfer::test
