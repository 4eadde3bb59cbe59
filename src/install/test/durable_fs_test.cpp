#include "install/durable_fs.hpp"

#include "proto/layout.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <thread>

namespace lanspread::install {
namespace {

using test::TempDir;

// Guards against a recursive delete following a symlink out of the directory it deletes.
TEST(DurableFs, RemoveTreeDoesNotFollowSymlinks) {
  TempDir tmp;
  test::write_file(tmp.path() / "outside" / "keep.txt", "keep");
  test::write_file(tmp.path() / "doomed" / "a.txt", "a");
  fs::create_directory_symlink(tmp.path() / "outside", tmp.path() / "doomed" / "link");
  std::string detail;
  ASSERT_TRUE(remove_tree(tmp.path() / "doomed", detail)) << detail;
  EXPECT_FALSE(fs::exists(tmp.path() / "doomed"));
  EXPECT_EQ(test::read_file(tmp.path() / "outside" / "keep.txt"), "keep");
  ASSERT_TRUE(remove_tree(tmp.path() / "never-existed", detail));
}

// Guards against a crash in the middle of deleting a Lanspread-owned directory leaving a
// directory that no longer proves it is ours (recovery would then never finish deleting it).
TEST(DurableFs, MarkerOutlivesEveryOtherEntryWhenKilledMidDelete) {
  for (int delay_ms : {1, 5, 20}) {
    TempDir tmp;
    const auto dir = tmp.path() / ".local.backup";
    std::string detail;
    ASSERT_TRUE(create_owned_dir(dir, detail)) << detail;
    for (int i = 0; i < 3000; ++i) {
      test::write_file(dir / ("d" + std::to_string(i % 30)) / ("f" + std::to_string(i)), "x");
    }
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      std::string d;
      (void)remove_tree(dir, d);
      ::_exit(0);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (fs::exists(dir)) {
      // The only window without a marker is an empty directory between unlink and rmdir.
      EXPECT_TRUE(has_owned_marker(dir) || fs::is_empty(dir)) << "killed after " << delay_ms;
    }
  }
}

}  // namespace
}  // namespace lanspread::install
