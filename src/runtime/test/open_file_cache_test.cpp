// The game server's bounded cache of open files: totals, per-connection shares, reuse.
#include "runtime/open_file_cache.hpp"

#include <gtest/gtest.h>

#include <fcntl.h>

namespace lanspread::runtime {
namespace {

sys::UniqueFd some_fd() {
  return sys::UniqueFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
}

const void* conn(int n) {
  return reinterpret_cast<const void*>(static_cast<std::uintptr_t>(n));
}

// Guards against serving a game of many files with one descriptor per file (EMFILE at
// `ulimit -n 1024`): the cache never holds more than its total, and closes what no
// request uses (a file replaced on disk must not be served from an old descriptor).
TEST(OpenFileCache, NeverExceedsTheTotalAndReusesIdleSlots) {
  OpenFileCache c(4, 16);
  int fd = -1;
  for (int i = 0; i < 4; ++i) {
    const std::string key = "f" + std::to_string(i);
    ASSERT_EQ(c.take(conn(1), key, &fd), OpenFileCache::Take::open_it);
    c.opened(conn(1), key, some_fd());
  }
  EXPECT_EQ(c.take(conn(1), "f9", &fd), OpenFileCache::Take::wait);  // all four in use
  c.put(conn(1), "f2");
  EXPECT_EQ(c.open_count(), 3u);  // f2 closed
  EXPECT_EQ(c.take(conn(1), "f9", &fd), OpenFileCache::Take::open_it);
  c.opened(conn(1), "f9", some_fd());
  EXPECT_EQ(c.open_count(), 4u);
  // A file in use is shared, not opened twice.
  int again = -1;
  EXPECT_EQ(c.take(conn(2), "f9", &again), OpenFileCache::Take::hit);
  EXPECT_GE(again, 0);
  EXPECT_EQ(c.open_count(), 4u);
  // Closed when its last user is done; the next request opens it anew.
  c.put(conn(2), "f9");
  EXPECT_EQ(c.open_count(), 4u);
  c.put(conn(1), "f9");
  EXPECT_EQ(c.open_count(), 3u);
  EXPECT_EQ(c.take(conn(3), "f9", &again), OpenFileCache::Take::open_it);
}

// Guards against one connection taking every descriptor: it gets at most its share, others
// still get theirs.
TEST(OpenFileCache, OneConnectionGetsItsShareOnly) {
  OpenFileCache c(8, 2);
  int fd = -1;
  ASSERT_EQ(c.take(conn(1), "a", &fd), OpenFileCache::Take::open_it);
  c.opened(conn(1), "a", some_fd());
  ASSERT_EQ(c.take(conn(1), "b", &fd), OpenFileCache::Take::open_it);
  EXPECT_EQ(c.take(conn(1), "c", &fd), OpenFileCache::Take::wait);
  EXPECT_EQ(c.take(conn(2), "c", &fd), OpenFileCache::Take::open_it);
  // A failed open gives the share back.
  c.opened(conn(1), "b", sys::UniqueFd());
  EXPECT_EQ(c.used_by(conn(1)), 1u);
  EXPECT_EQ(c.take(conn(1), "d", &fd), OpenFileCache::Take::open_it);
}

}  // namespace
}  // namespace lanspread::runtime
