// The library monitor on a real games dir with real inotify events.
#include "runtime/library_monitor.hpp"

#include "../../library/test/temp_dir.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

using namespace std::chrono_literals;
using lanspread::testing::write_file;
namespace fs = std::filesystem;

struct Harness {
  Harness() {
    catalog = std::make_shared<library::Catalog>(
        *library::Catalog::parse("[alpha]\nname=A\n[beta]\nname=B\n", "t"));
    MonitorSettings s;
    s.debounce = 50ms;
    s.scan.chunk_size = 65536;
    monitor = std::make_shared<LibraryMonitor>(
        io.get_executor(), disk.get_executor(), games.path(), catalog, s,
        [this](std::shared_ptr<const library::LocalLibrary> lib, const std::set<std::string>& c) {
          latest = std::move(lib);
          changes.push_back(c);
        });
  }
  ~Harness() {
    monitor->stop();
    disk.join();
  }

  // Runs the loop until `pred` holds or `limit` passes.
  bool until(const std::function<bool()>& pred, std::chrono::milliseconds limit = 5000ms) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!pred() && std::chrono::steady_clock::now() < end) io.run_for(20ms);
    return pred();
  }
  const library::LocalGame* game(const std::string& id) const {
    return latest ? latest->find(id) : nullptr;
  }

  lanspread::testing::TempDir games;
  boost::asio::io_context io;
  boost::asio::thread_pool disk{1};
  std::shared_ptr<library::Catalog> catalog;
  std::shared_ptr<LibraryMonitor> monitor;
  std::shared_ptr<const library::LocalLibrary> latest;
  std::vector<std::set<std::string>> changes;
};

// Guards against a library view that misses games appearing, finishing or vanishing on disk
// (peers would be told stale state).
TEST(LibraryMonitor, FollowsTheDiskWithoutRestarts) {
  Harness h;
  h.monitor->start();
  ASSERT_TRUE(h.until([&] { return h.latest != nullptr; }));
  EXPECT_TRUE(h.latest->games.empty());
  const auto rev0 = h.monitor->revision();

  write_file(h.games / "alpha/data.pak", "partial");
  ASSERT_TRUE(h.until([&] { return h.game("alpha") != nullptr; }));
  EXPECT_FALSE(h.game("alpha")->downloaded);

  write_file(h.games / "alpha/version.ini", "7\n");  // the sentinel lands last
  ASSERT_TRUE(h.until([&] { return h.game("alpha") && h.game("alpha")->downloaded; }));
  EXPECT_EQ(h.game("alpha")->version, "7");
  EXPECT_TRUE(h.game("alpha")->manifest.has_value());
  EXPECT_GT(h.monitor->revision(), rev0);

  write_file(h.games / "not-a-game/version.ini", "1");  // ignored: not in the catalog
  fs::remove_all(h.games / "alpha");
  ASSERT_TRUE(h.until([&] { return h.game("alpha") == nullptr; }));
  EXPECT_EQ(h.changes.back(), std::set<std::string>{"alpha"});
}

// Guards against rescanning a root while an operation is writing into it (a half-written
// state would be announced), and against forgetting the change once the operation ends.
TEST(LibraryMonitor, HeldIdsWaitForRelease) {
  Harness h;
  write_file(h.games / "beta/version.ini", "1\n");
  h.monitor->start();
  ASSERT_TRUE(h.until([&] { return h.game("beta") && h.game("beta")->version == "1"; }));
  h.monitor->hold("beta");
  write_file(h.games / "beta/version.ini", "2\n");
  h.until([] { return false; }, 500ms);  // give events and debounce time to pass
  EXPECT_EQ(h.game("beta")->version, "1");
  h.monitor->release("beta");
  ASSERT_TRUE(h.until([&] { return h.game("beta")->version == "2"; }));
}

// Guards against a feedback loop: the scan writes .lanspread.index into the root, which must
// not trigger another scan.
TEST(LibraryMonitor, OwnIndexWritesDoNotRetrigger) {
  Harness h;
  write_file(h.games / "alpha/version.ini", "1\n");
  write_file(h.games / "alpha/a.bin", std::string(200'000, 'a'));
  h.monitor->start();
  ASSERT_TRUE(h.until([&] { return h.game("alpha") && h.game("alpha")->manifest; }));
  write_file(h.games / "alpha/b.bin", "b");
  ASSERT_TRUE(h.until([&] { return h.game("alpha")->manifest->files.size() == 3; }));
  const auto scans = h.monitor->scans();
  h.until([] { return false; }, 500ms);
  EXPECT_EQ(h.monitor->scans(), scans);
}

// Guards against switching the games dir leaving the old dir's games in the view.
TEST(LibraryMonitor, SwitchingGamesDir) {
  Harness h;
  lanspread::testing::TempDir other;
  write_file(h.games / "alpha/version.ini", "1\n");
  write_file(other / "beta/version.ini", "3\n");
  h.monitor->start();
  ASSERT_TRUE(h.until([&] { return h.game("alpha") != nullptr; }));
  h.monitor->set_games_dir(other.path());
  ASSERT_TRUE(h.until([&] { return h.game("beta") != nullptr && h.game("alpha") == nullptr; }));
  write_file(other / "alpha/version.ini", "9\n");  // the new dir is watched
  ASSERT_TRUE(h.until([&] { return h.game("alpha") && h.game("alpha")->version == "9"; }));
}

}  // namespace
}  // namespace lanspread::runtime
