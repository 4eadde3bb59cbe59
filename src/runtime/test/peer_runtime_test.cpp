// Two peer runtimes in one process on loopback, introduced directly (no mDNS).
#include "runtime/peer_runtime.hpp"

#include "runtime/error.hpp"

#include "../../install/test/test_support.hpp"
#include "../../library/test/temp_dir.hpp"

#include <netinet/in.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

namespace lanspread::runtime {
namespace {

using namespace std::chrono_literals;
using lanspread::testing::TempDir;
using lanspread::testing::write_file;

transport::Address loopback(std::uint16_t port = 0) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(0x7f000001);
  return transport::Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

// Collects events from the network thread; tests wait for the one they expect.
class Events {
 public:
  EventSink sink() {
    return [this](PeerEvent e) {
      std::lock_guard lock(mutex_);
      events_.push_back(std::move(e));
      cv_.notify_all();
    };
  }
  // Where the log stands now: wait(..., mark) then only looks at later events.
  std::size_t mark() {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  template <class T, class Pred>
  std::optional<T> wait(Pred pred, std::chrono::milliseconds limit = 10s, std::size_t from = 0) {
    std::unique_lock lock(mutex_);
    std::optional<T> found;
    cv_.wait_for(lock, limit, [&] {
      for (auto it = events_.rbegin();
           it != events_.rend() - static_cast<std::ptrdiff_t>(std::min(from, events_.size()));
           ++it) {
        if (const T* e = std::get_if<T>(&*it); e && pred(*e)) {
          found = *e;
          return true;
        }
      }
      return false;
    });
    return found;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<PeerEvent> events_;
};

struct TestPeer {
  TestPeer() {
    PeerConfig c;
    c.games_dir = games.path();
    c.state_dir = state.path();
    c.catalog = std::make_shared<library::Catalog>(
        *library::Catalog::parse("[alpha]\nname=Alpha\n[beta]\nname=Beta\n", "t"));
    c.bind = loopback();
    c.transport.idle_timeout = 3s;
    c.transport.handshake_timeout = 1s;
    c.ping_interval = 200ms;
    c.ping_timeout = 1s;
    c.unreachable_after = 600ms;
    c.drop_after = 1500ms;
    c.request_timeout = 2s;
    c.limits.min_refresh_interval = 100ms;  // its own test is in peer_game_db_test
    c.monitor.debounce = 50ms;
    c.monitor.scan.chunk_size = 65536;
    config = c;
  }
  void start() {
    auto h = start_peer(config, events.sink());
    ASSERT_TRUE(h) << h.error().message();
    handle = std::move(*h);
  }
  DiscoveredPeer as_discovered() const {
    return DiscoveredPeer{handle->peer_id(), "test", {loopback(handle->port())}, 0};
  }
  static const GameView* find(const LibrarySnapshot& s, const std::string& id) {
    for (const auto& g : s.games)
      if (g.info.id == id) return &g;
    return nullptr;
  }

  TempDir games;
  TempDir state;
  PeerConfig config;
  Events events;
  std::unique_ptr<PeerRuntimeHandle> handle;
};

// Guards against peers not learning each other's games, or serving a manifest that differs
// from what the owner scanned.
TEST(PeerRuntime, PeersSeeEachOthersGamesAndManifests) {
  TestPeer a, b;
  write_file(a.games / "alpha/version.ini", "20240115\n");
  write_file(a.games / "alpha/data.bin", std::string(200'000, 'd'));
  a.start();
  b.start();
  auto local = a.events.wait<LocalLibraryChanged>([](const auto& e) {
    const auto* g = e.library->find("alpha");
    return g && g->manifest.has_value();
  });
  ASSERT_TRUE(local);
  b.handle->add_peer(a.as_discovered());
  ASSERT_TRUE(
      b.events.wait<PeerJoined>([&](const auto& e) { return e.peer.id == a.handle->peer_id(); }));
  auto snap = b.events.wait<LibrarySnapshot>([](const LibrarySnapshot& s) {
    const auto* g = TestPeer::find(s, "alpha");
    return g && g->latest_version == "20240115";
  });
  ASSERT_TRUE(snap);
  const auto* alpha = TestPeer::find(*snap, "alpha");
  EXPECT_TRUE(alpha->available);
  EXPECT_FALSE(alpha->downloaded);
  EXPECT_EQ(alpha->latest_peers, std::vector<std::string>{a.handle->peer_id()});
  ASSERT_NE(TestPeer::find(*snap, "beta"), nullptr);  // catalog titles show without peers

  b.handle->send(GetGame{"alpha"});
  auto files = b.events.wait<GotGameFiles>([](const auto& e) { return e.id == "alpha"; });
  ASSERT_TRUE(files);
  EXPECT_EQ(files->manifest, *local->library->find("alpha")->manifest);
  EXPECT_EQ(files->peers, std::vector<std::string>{a.handle->peer_id()});

  b.handle->send(GetGame{"beta"});
  EXPECT_TRUE(b.events.wait<GetGameFailed>([](const auto& e) { return e.id == "beta"; }));
  b.handle->send(GetGame{"../x"});
  EXPECT_TRUE(b.events.wait<GetGameFailed>([](const auto& e) { return e.id == "../x"; }));
}

// Guards against a peer's new version staying invisible until a restart.
TEST(PeerRuntime, NewVersionOnOnePeerShowsUpOnTheOther) {
  TestPeer a, b;
  write_file(a.games / "alpha/version.ini", "1\n");
  a.start();
  b.start();
  b.handle->add_peer(a.as_discovered());
  ASSERT_TRUE(b.events.wait<LibrarySnapshot>([](const LibrarySnapshot& s) {
    const auto* g = TestPeer::find(s, "alpha");
    return g && g->latest_version == "1";
  }));
  write_file(a.games / "alpha/version.ini", "2\n");
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(b.events.wait<LibrarySnapshot>([](const LibrarySnapshot& s) {
    const auto* g = TestPeer::find(s, "alpha");
    return g && g->latest_version == "2";
  }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

// Guards against a dead peer staying in the list (downloads would be planned from it).
TEST(PeerRuntime, StoppedPeerIsPruned) {
  TestPeer a, b;
  a.start();
  b.start();
  b.handle->add_peer(a.as_discovered());
  ASSERT_TRUE(b.events.wait<PeerCount>([](const auto& e) { return e.count == 1; }));
  const std::string id = a.handle->peer_id();
  a.handle->stop();
  auto left = b.events.wait<PeerLeft>([&](const auto& e) { return e.id == id; }, 15s);
  ASSERT_TRUE(left);
  EXPECT_TRUE(b.events.wait<PeerCount>([](const auto& e) { return e.count == 0; }));
}

// Guards against accepting a games dir the peer cannot use.
TEST(PeerRuntime, SetGameDirIsValidated) {
  TestPeer a;
  a.start();
  a.handle->send(SetGameDir{a.games / "missing"});
  EXPECT_TRUE(a.events.wait<GameDirRejected>([](const auto&) { return true; }));
  TempDir other;
  write_file(other / "beta/version.ini", "5\n");
  a.handle->send(SetGameDir{other.path()});
  EXPECT_TRUE(a.events.wait<GameDirChanged>([](const auto&) { return true; }));
  EXPECT_TRUE(a.events.wait<LocalLibraryChanged>(
      [](const auto& e) { return e.library->find("beta") != nullptr; }));
  // The peer id survives a restart with the same state dir.
  const std::string id = a.handle->peer_id();
  a.handle->stop();
  a.handle.reset();
  a.start();
  EXPECT_EQ(a.handle->peer_id(), id);
}

// Guards against install-side commands doing something other than they say, running when
// they must not, or leaving the operation snapshot stale.
TEST(PeerRuntime, InstallUninstallRemoveThroughCommands) {
  TestPeer a;
  write_file(a.games / "alpha/version.ini", "1\n");
  install::test::write_archive(
      a.games / "alpha/game.zip", install::test::Format::zip,
      {install::test::file("bin/game", "ELF"), install::test::file("data/a.txt", "aaa")});
  a.start();
  ASSERT_TRUE(a.events.wait<LocalLibraryChanged>([](const auto& e) {
    const auto* g = e.library->find("alpha");
    return g && g->downloaded;
  }));
  auto refused = [&](PeerCommand c, const std::string& id, const std::string& words) {
    a.handle->send(std::move(c));
    return a.events
        .wait<OperationRefused>(
            [&](const auto& e) { return e.id == id && e.reason.find(words) != std::string::npos; })
        .has_value();
  };
  EXPECT_TRUE(refused(UninstallGame{"alpha"}, "alpha", "not installed"));
  EXPECT_TRUE(refused(InstallGame{"beta"}, "beta", "not downloaded"));
  EXPECT_TRUE(refused(InstallGame{"nope"}, "nope", "not a catalog game"));

  const auto before_install = a.events.mark();
  a.handle->send(InstallGame{"alpha"});
  ASSERT_TRUE(a.events.wait<OperationFinished>([](const auto& e) { return e.id == "alpha"; }, 10s,
                                               before_install));
  EXPECT_TRUE(a.events.wait<ActiveOperations>(
      [](const auto& e) { return e.operations.contains("alpha"); }));
  EXPECT_EQ(lanspread::testing::read_file(a.games / "alpha/local/bin/game"), "ELF");
  ASSERT_TRUE(a.events.wait<LocalLibraryChanged>(
      [](const auto& e) {
        const auto* g = e.library->find("alpha");
        return g && g->installed;
      },
      10s, before_install));
  EXPECT_TRUE(refused(RemoveDownloadedGame{"alpha"}, "alpha", "uninstall first"));

  const auto before_uninstall = a.events.mark();
  a.handle->send(UninstallGame{"alpha"});
  ASSERT_TRUE(a.events.wait<OperationFinished>(
      [](const auto& e) { return e.id == "alpha" && e.kind == OperationKind::uninstall; }));
  EXPECT_FALSE(std::filesystem::exists(a.games / "alpha/local"));
  EXPECT_TRUE(std::filesystem::exists(a.games / "alpha/game.zip"));
  ASSERT_TRUE(a.events.wait<LocalLibraryChanged>(
      [](const auto& e) {
        const auto* g = e.library->find("alpha");
        return g && !g->installed;
      },
      10s, before_uninstall));

  const auto before_remove = a.events.mark();
  a.handle->send(RemoveDownloadedGame{"alpha"});
  if (auto failed =
          a.events.wait<OperationFailed>([](const auto& e) { return e.id == "alpha"; }, 2s)) {
    ADD_FAILURE() << failed->reason;
  }
  ASSERT_TRUE(a.events.wait<OperationFinished>(
      [](const auto& e) { return e.id == "alpha" && e.kind == OperationKind::remove; }));
  EXPECT_FALSE(std::filesystem::exists(a.games / "alpha"));
  EXPECT_TRUE(a.events.wait<LocalLibraryChanged>(
      [](const auto& e) { return e.library->find("alpha") == nullptr; }));
  EXPECT_TRUE(a.events.wait<ActiveOperations>([](const auto& e) { return e.operations.empty(); },
                                              10s, before_remove));
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::uint32_t x = seed * 2654435761u + 1;
  for (auto& ch : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    ch = static_cast<char>(x);
  }
  return s;
}

// Guards against a download that differs from the seeders' files by a single byte, that
// claims success without the sentinel, or that skips the automatic install.
TEST(PeerRuntime, DownloadFromTwoSeedersIsByteIdenticalAndInstalls) {
  TestPeer a, c, b;
  const std::string big = pattern(3 * 1024 * 1024 + 17, 1);
  for (TestPeer* seeder : {&a, &c}) {
    write_file(seeder->games / "alpha/data/big.bin", big);
    write_file(seeder->games / "alpha/readme.txt", "hello");
    write_file(seeder->games / "alpha/version.ini", "7\n");
    seeder->start();
    ASSERT_TRUE(seeder->events.wait<LocalLibraryChanged>([](const auto& e) {
      const auto* g = e.library->find("alpha");
      return g && g->manifest.has_value();
    }));
  }
  b.start();
  b.handle->add_peer(a.as_discovered());
  b.handle->add_peer(c.as_discovered());
  ASSERT_TRUE(b.events.wait<LibrarySnapshot>([](const LibrarySnapshot& s) {
    const auto* g = TestPeer::find(s, "alpha");
    return g && g->latest_peers.size() == 2;
  }));
  b.handle->send(DownloadGameFiles{"alpha"});
  auto done = b.events.wait<OperationFinished>(
      [](const auto& e) { return e.id == "alpha" && e.kind == OperationKind::download; }, 30s);
  if (!done) {
    auto failed = b.events.wait<OperationFailed>([](const auto&) { return true; }, 1s);
    FAIL() << (failed ? failed->reason : std::string("no end reported"));
  }
  EXPECT_EQ(lanspread::testing::read_file(b.games / "alpha/data/big.bin"), big);
  EXPECT_EQ(lanspread::testing::read_file(b.games / "alpha/readme.txt"), "hello");
  EXPECT_EQ(lanspread::testing::read_file(b.games / "alpha/version.ini"), "7\n");
  EXPECT_FALSE(std::filesystem::exists(b.games / "alpha/.version.ini.tmp"));
  EXPECT_TRUE(b.events.wait<OperationProgress>([](const auto& e) { return e.id == "alpha"; }));
  // The reference installs a finished download at once.
  ASSERT_TRUE(b.events.wait<OperationFinished>(
      [](const auto& e) { return e.id == "alpha" && e.kind == OperationKind::install; }, 30s));
  EXPECT_EQ(lanspread::testing::read_file(b.games / "alpha/local/readme.txt"), "hello");
}

// Guards against a download that replaces a newer version on disk with the peers' older one:
// it is refused with a code a front end can act on, and nothing on disk changes.
TEST(PeerRuntime, DownloadIsRefusedWhenTheLocalVersionIsNewer) {
  TestPeer a, b;
  write_file(a.games / "alpha/readme.txt", "old");
  write_file(a.games / "alpha/version.ini", "7\n");
  write_file(b.games / "alpha/readme.txt", "new");
  write_file(b.games / "alpha/version.ini", "8\n");
  a.start();
  ASSERT_TRUE(a.events.wait<LocalLibraryChanged>([](const auto& e) {
    const auto* g = e.library->find("alpha");
    return g && g->manifest.has_value();
  }));
  b.start();
  b.handle->add_peer(a.as_discovered());
  ASSERT_TRUE(b.events.wait<LibrarySnapshot>([](const LibrarySnapshot& s) {
    const auto* g = TestPeer::find(s, "alpha");
    return g && g->available && g->downloaded;
  }));
  b.handle->send(DownloadGameFiles{"alpha"});
  auto refused = b.events.wait<OperationRefused>([](const auto& e) { return e.id == "alpha"; });
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->code, "newer_local_version");
  EXPECT_EQ(refused->reason,
            "'alpha' has version 8 here, newer than the peers' 7; nothing to download");
  EXPECT_EQ(lanspread::testing::read_file(b.games / "alpha/version.ini"), "8\n");
}

// Guards against a cancelled download leaving a half payload or a sentinel behind.
TEST(PeerRuntime, CancelledDownloadLeavesNothing) {
  TestPeer a, b;
  write_file(a.games / "alpha/data/huge.bin", pattern(96 * 1024 * 1024, 2));
  write_file(a.games / "alpha/version.ini", "1\n");
  a.start();
  ASSERT_TRUE(a.events.wait<LocalLibraryChanged>(
      [](const auto& e) {
        const auto* g = e.library->find("alpha");
        return g && g->manifest.has_value();
      },
      60s));
  b.start();
  b.handle->add_peer(a.as_discovered());
  ASSERT_TRUE(b.events.wait<LibrarySnapshot>([](const LibrarySnapshot& s) {
    const auto* g = TestPeer::find(s, "alpha");
    return g && g->available;
  }));
  b.handle->send(DownloadGameFiles{"alpha"});
  ASSERT_TRUE(b.events.wait<OperationProgress>([](const auto& e) { return e.id == "alpha"; }, 20s));
  b.handle->send(CancelDownload{"alpha"});
  ASSERT_TRUE(b.events.wait<OperationCancelled>(
      [](const auto& e) { return e.id == "alpha" && e.kind == OperationKind::download; }, 20s));
  EXPECT_FALSE(std::filesystem::exists(b.games / "alpha/data/huge.bin"));
  EXPECT_FALSE(std::filesystem::exists(b.games / "alpha/version.ini"));
  EXPECT_FALSE(std::filesystem::exists(b.games / "alpha/.version.ini.discarded"));
}

}  // namespace
}  // namespace lanspread::runtime

namespace lanspread::runtime {
namespace {

// Guards against a peer named by address never being listed (its id is not known before the
// handshake), against a privileged port being dialled, and against the list being lost on a
// restart.
TEST(PeerRuntime, ManualPeerIsLearnedFromItsHandshakeAndStored) {
  TestPeer a, b;
  b.config.manual_store = make_file_peer_store(b.state.path());
  a.start();
  b.start();
  const std::string address = "127.0.0.1:" + std::to_string(a.handle->port());
  b.handle->send(AddManualPeer{"127.0.0.1:80"});
  EXPECT_TRUE(b.events.wait<ManualPeerRefused>(
      [](const auto& e) { return e.reason.find("port 80") != std::string::npos; }));
  b.handle->send(AddManualPeer{address});
  auto joined =
      b.events.wait<PeerJoined>([&](const auto& e) { return e.peer.id == a.handle->peer_id(); });
  ASSERT_TRUE(joined);
  EXPECT_TRUE(b.events.wait<ManualPeers>([&](const auto& e) {
    return e.peers.size() == 1 && e.peers[0].address == address &&
           e.peers[0].peer_id == a.handle->peer_id();
  }));

  b.handle->stop();
  b.handle.reset();
  const std::size_t restarted = b.events.mark();
  b.start();
  EXPECT_TRUE(b.events.wait<PeerJoined>(
      [&](const auto& e) { return e.peer.id == a.handle->peer_id() && e.peer.manual; }, 10s,
      restarted));
  const std::size_t mark = b.events.mark();
  b.handle->send(RemoveManualPeer{address});
  EXPECT_TRUE(b.events.wait<PeerLeft>([&](const auto& e) { return e.id == a.handle->peer_id(); },
                                      10s, mark));
  EXPECT_TRUE(b.events.wait<ManualPeers>([](const auto& e) { return e.peers.empty(); }, 10s, mark));
}

// Guards against a peer that shut down cleanly lingering in the list until pings time out:
// closing its connection is its goodbye.
TEST(PeerRuntime, CleanStopRemovesThePeerAtOnce) {
  TestPeer a, b;
  b.config.drop_after = 60s;  // so only the close can remove it
  b.config.unreachable_after = 30s;
  a.start();
  b.start();
  b.handle->add_peer(a.as_discovered());
  ASSERT_TRUE(
      b.events.wait<PeerJoined>([&](const auto& e) { return e.peer.id == a.handle->peer_id(); }));
  a.handle->stop();
  auto left = b.events.wait<PeerLeft>([&](const auto& e) { return e.id == a.handle->peer_id(); });
  ASSERT_TRUE(left);
  EXPECT_EQ(left->reason, "closed its connection");
}

class FailingOnceDiscovery final : public PeerDiscovery {
 public:
  explicit FailingOnceDiscovery(std::shared_ptr<int> starts) : starts_(std::move(starts)) {}
  boost::system::result<void> start(const std::string&, const std::string&, std::uint16_t,
                                    std::uint64_t, Handlers) override {
    if ((*starts_)++ == 0) return make_error_code(errc::timeout);
    return {};
  }
  void update_rev(std::uint64_t) override {}
  Status status() const override { return {false, {"eth9"}}; }
  void stop(std::function<void()> done) override {
    if (done) done();
  }

 private:
  std::shared_ptr<int> starts_;
};

// Guards against discovery that failed once staying off for the daemon's lifetime, and
// against a failure report that does not say a restart follows.
TEST(PeerRuntime, DiscoveryIsRestartedAfterAFailure) {
  TestPeer a;
  auto starts = std::make_shared<int>(0);
  a.config.discovery = [starts](boost::asio::any_io_executor) {
    return std::make_unique<FailingOnceDiscovery>(starts);
  };
  a.start();
  auto failure = a.events.wait<RuntimeFailure>([](const auto& e) { return e.task == "discovery"; });
  ASSERT_TRUE(failure);
  EXPECT_NE(failure->message.find("restarting in"), std::string::npos) << failure->message;
  auto running = a.events.wait<DiscoveryStatus>([](const auto& e) { return e.state == "running"; });
  ASSERT_TRUE(running);
  EXPECT_EQ(running->interfaces, std::vector<std::string>{"eth9"});
  EXPECT_EQ(*starts, 2);
}

}  // namespace
}  // namespace lanspread::runtime
