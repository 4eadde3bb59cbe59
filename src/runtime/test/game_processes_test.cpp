// find_game_process against real processes of this machine.
#include "runtime/game_processes.hpp"

#include "../../library/test/temp_dir.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

namespace fs = std::filesystem;

// A child that works in `dir` under `name` until killed; constructed once it does.
struct Child {
  pid_t pid = -1;
  Child(const fs::path& dir, const char* name) {
    int ready[2];
    if (::pipe(ready) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::close(ready[0]);
      if (::chdir(dir.c_str()) != 0) ::_exit(1);
      ::prctl(PR_SET_NAME, name);
      if (::write(ready[1], "r", 1) != 1) ::_exit(1);
      for (;;) ::pause();
    }
    ::close(ready[1]);
    char c = 0;
    EXPECT_EQ(::read(ready[0], &c, 1), 1);
    ::close(ready[0]);
  }
  ~Child() {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
};

// Guards against a running game going unseen (its working directory inside local/, also
// when local/ was deleted under it) or a process elsewhere being taken for it.
TEST(GameProcesses, FindsAProcessWorkingInsideLocalOnly) {
  lanspread::testing::TempDir games;
  const fs::path local = games.path() / "game" / "local";
  fs::create_directories(local / "bin");
  fs::create_directories(games.path() / "other" / "local");
  fs::create_directories(games.path() / "game" / "local-not");
  EXPECT_FALSE(find_game_process(local));
  Child beside(games.path() / "game" / "local-not", "beside");
  EXPECT_FALSE(find_game_process(local));
  {
    Child game(local / "bin", "lsgame");
    const auto found = find_game_process(local);
    ASSERT_TRUE(found);
    EXPECT_EQ(found->pid, game.pid);
    EXPECT_EQ(found->name, "lsgame");
    EXPECT_EQ(describe(*found), "process lsgame (pid " + std::to_string(game.pid) + ")");
    EXPECT_FALSE(find_game_process(games.path() / "other" / "local"));
    fs::remove_all(local);
    const auto still = find_game_process(local);
    ASSERT_TRUE(still);
    EXPECT_EQ(still->pid, game.pid);
  }
  EXPECT_FALSE(find_game_process(local));
}

// Guards against an unbounded walk of a huge process table: past the cap the scan stops.
TEST(GameProcesses, ScanIsBounded) {
  lanspread::testing::TempDir games;
  const fs::path local = games.path() / "local";
  fs::create_directories(local);
  Child game(local, "lsgame");
  ProcessScanLimits none;
  none.max_processes = 0;
  EXPECT_FALSE(find_game_process(local, none));
  EXPECT_TRUE(find_game_process(local));
}

}  // namespace
}  // namespace lanspread::runtime
