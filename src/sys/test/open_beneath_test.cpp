#include "sys/open_beneath.hpp"

#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lanspread::sys {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// Every test runs twice: with openat2 where the kernel has it, and with the portable walk,
// so both paths keep the same contract.
class OpenBeneath : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override { use_openat2_for_testing(GetParam()); }
  void TearDown() override { use_openat2_for_testing(true); }
  TempDir tmp;
  fs::path root() const { return tmp.path() / "root"; }
};

std::string read_fd(int fd) {
  char buf[64];
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

// Guards against a server or installer reading a plain file beneath a root at all wrong.
TEST_P(OpenBeneath, OpensANestedRegularFile) {
  test::write(root() / "a" / "b" / "c.txt", "hello");
  auto fd = open_regular_beneath(root(), "a/b/c.txt");
  ASSERT_TRUE(fd) << fd.error().message();
  EXPECT_EQ(read_fd(fd->get()), "hello");
}

// Guards against a symlink planted at any component (first, middle or last) redirecting an
// open outside the game root; the error names the path and the reason.
TEST_P(OpenBeneath, RefusesASymlinkAtAnyComponent) {
  test::write(tmp.path() / "outside" / "secret.txt", "secret");
  test::write(tmp.path() / "outside" / "d" / "secret.txt", "secret");
  fs::create_directories(root() / "a");
  fs::create_symlink(tmp.path() / "outside" / "secret.txt", root() / "last.txt");
  fs::create_directory_symlink(tmp.path() / "outside", root() / "first");
  fs::create_directory_symlink(tmp.path() / "outside" / "d", root() / "a" / "middle");
  fs::create_symlink("../outside/secret.txt", root() / "relative.txt");
  for (const char* rel : {"last.txt", "first/secret.txt", "a/middle/secret.txt", "relative.txt"}) {
    auto fd = open_regular_beneath(root(), rel);
    ASSERT_FALSE(fd) << rel;
    EXPECT_TRUE(fd.error().code == ELOOP || fd.error().code == ENOTDIR) << fd.error().message();
    EXPECT_NE(fd.error().message().find(rel), std::string::npos) << fd.error().message();
  }
}

// Guards against ".." or absolute paths walking out of the root, and against a root that is
// itself a symlink.
TEST_P(OpenBeneath, RefusesEscapingPathsAndALinkedRoot) {
  test::write(tmp.path() / "secret.txt", "secret");
  fs::create_directories(root() / "a");
  for (const char* rel :
       {"../secret.txt", "a/../../secret.txt", "/etc/passwd", "", "a//x", "./a"}) {
    EXPECT_FALSE(open_regular_beneath(root(), rel)) << rel;
  }
  fs::create_directory_symlink(tmp.path(), tmp.path() / "linked-root");
  EXPECT_FALSE(open_regular_beneath(tmp.path() / "linked-root", "secret.txt"));
}

// Guards against a download writing through a symlink created at the file's own name, and
// against creating files anywhere but beneath the root.
TEST_P(OpenBeneath, CreatesWithoutFollowingALinkAtTheName) {
  fs::create_directories(root());
  test::write(tmp.path() / "victim.txt", "keep");
  fs::create_symlink(tmp.path() / "victim.txt", root() / "file.bin");
  auto fd = open_beneath(root(), "file.bin", O_RDWR | O_CREAT, 0644);
  ASSERT_FALSE(fd);
  EXPECT_EQ(test::read(tmp.path() / "victim.txt"), "keep");
  auto dir = open_dir(root());
  ASSERT_TRUE(dir);
  auto sub = open_dir_beneath(dir->get(), "x/y", true);
  ASSERT_TRUE(sub) << sub.error().message();
  auto made = open_beneath(dir->get(), "x/y/new.bin", O_RDWR | O_CREAT, 0644);
  ASSERT_TRUE(made) << made.error().message();
  EXPECT_TRUE(fs::is_regular_file(root() / "x" / "y" / "new.bin"));
}

// Guards against a FIFO or a directory being served as a file (a FIFO would block forever).
TEST_P(OpenBeneath, RefusesNonRegularFiles) {
  fs::create_directories(root() / "dir");
  ASSERT_EQ(::mkfifo((root() / "fifo").c_str(), 0644), 0);
  for (const char* rel : {"dir", "fifo"}) {
    auto fd = open_regular_beneath(root(), rel);
    ASSERT_FALSE(fd) << rel;
    EXPECT_EQ(fd.error().code, EINVAL) << fd.error().message();
  }
}

// Guards against creating missing directories through a symlinked one.
TEST_P(OpenBeneath, CreatingDirectoriesStopsAtASymlink) {
  fs::create_directories(root());
  fs::create_directories(tmp.path() / "outside");
  fs::create_directory_symlink(tmp.path() / "outside", root() / "link");
  auto dir = open_dir(root());
  ASSERT_TRUE(dir);
  EXPECT_FALSE(open_dir_beneath(dir->get(), "link/new", true));
  EXPECT_FALSE(fs::exists(tmp.path() / "outside" / "new"));
}

INSTANTIATE_TEST_SUITE_P(Resolvers, OpenBeneath, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "openat2" : "walk"; });

}  // namespace
}  // namespace lanspread::sys
