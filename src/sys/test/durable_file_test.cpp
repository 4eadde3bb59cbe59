#include "sys/durable_file.hpp"

#include "sys/unique_fd.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace lanspread::sys {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

// Guards against an atomic write leaving its temporary behind or not replacing the target.
TEST(DurableFile, ReplacesTheTargetAndLeavesNoTemporary) {
  TempDir tmp;
  test::write(tmp.path() / "state.json", "old");
  ASSERT_TRUE(write_file_atomic(tmp.path(), "state.json", "new"));
  EXPECT_EQ(test::read(tmp.path() / "state.json"), "new");
  EXPECT_FALSE(fs::exists(tmp.path() / "state.json.tmp"));
  ASSERT_TRUE(write_file_atomic(tmp.path(), "v.ini", "1", {.tmp_name = ".v.ini.tmp"}));
  EXPECT_EQ(test::read(tmp.path() / "v.ini"), "1");
}

// Guards against a symlink (or a hard link) planted at the temporary name redirecting the
// write into another file.
TEST(DurableFile, NeverWritesThroughWhatIsAtTheTemporaryName) {
  TempDir tmp;
  test::write(tmp.path() / "victim", "keep");
  fs::create_symlink(tmp.path() / "victim", tmp.path() / "key.tmp");
  ASSERT_TRUE(write_file_atomic(tmp.path(), "key", "secret", {.mode = 0600}));
  EXPECT_EQ(test::read(tmp.path() / "victim"), "keep");
  fs::create_hard_link(tmp.path() / "victim", tmp.path() / "key.tmp");
  ASSERT_TRUE(write_file_atomic(tmp.path(), "key", "secret2", {.mode = 0600}));
  EXPECT_EQ(test::read(tmp.path() / "victim"), "keep");
  EXPECT_EQ(test::read(tmp.path() / "key"), "secret2");
  struct stat st {};
  ASSERT_EQ(::stat((tmp.path() / "key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Guards against a failed write being reported as success, and against the error hiding
// which path failed.
TEST(DurableFile, FailureNamesThePath) {
  TempDir tmp;
  auto r = write_file_atomic(tmp.path() / "missing", "x", "data");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ENOENT);
  EXPECT_NE(r.error().message().find((tmp.path() / "missing").string()), std::string::npos)
      << r.error().message();
  EXPECT_EQ(r.error().error_code().category().name(), std::string("lanspread.sys"));
}

// Guards against an unbounded read of a file a stranger controls, and against reading
// through a symlink.
TEST(DurableFile, BoundedReadRefusesLargeFilesAndLinks) {
  TempDir tmp;
  test::write(tmp.path() / "small", "12345");
  test::write(tmp.path() / "large", std::string(100, 'x'));
  fs::create_symlink(tmp.path() / "small", tmp.path() / "link");
  auto small = read_small_file(tmp.path() / "small", 5);
  ASSERT_TRUE(small);
  EXPECT_EQ(*small, "12345");
  auto large = read_small_file(tmp.path() / "large", 99);
  ASSERT_FALSE(large);
  EXPECT_EQ(large.error().code, EFBIG);
  auto link = read_small_file(tmp.path() / "link", 99);
  ASSERT_FALSE(link);
  EXPECT_EQ(link.error().code, ELOOP);
  ASSERT_TRUE(read_small_file(tmp.path() / "large", 100));
}

// Guards against a descriptor being closed twice or leaked when ownership moves.
TEST(UniqueFdTest, ClosesOnceWhenMoved) {
  TempDir tmp;
  UniqueFd a(::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY));
  ASSERT_TRUE(a);
  const int raw = a.get();
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a);
  EXPECT_EQ(b.get(), raw);
  EXPECT_EQ(b.close(), 0);
  EXPECT_FALSE(b);
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
}

}  // namespace
}  // namespace lanspread::sys
