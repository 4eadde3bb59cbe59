// start_peer: the peer runtime on its own network thread (io_context) with a disk pool.
// It runs four long-lived tasks under supervision (a task that ends is reported and
// restarted with backoff; the others keep running):
//   server    - accepts QUIC connections and serves lanspread/1 from the library snapshot
//   discovery - advertises this peer (rev follows the library) and feeds the peer DB; it
//               waits for a usable interface and follows interface changes
//   ping      - pings peers, refetches games when a peer's rev moves (at most every 10 s),
//               marks silent peers unreachable, then drops them from the list; resolves
//               manual peers (named by address) again when they have no address
// Discovered peers are candidates until they answer a Ping through a handshake that proved
// their id; only then are they listed (PeerJoined). Dials go through a DialPlanner: never to
// privileged ports, with per-address backoff and a bounded number of handshakes at once.
//   monitor   - keeps the local library snapshot current (LibraryMonitor)
// Commands are accepted from any thread; events are delivered on the network thread, so an
// event sink must not block (queue and return).
#pragma once

#include "install/unpacker.hpp"
#include "library/catalog.hpp"
#include "runtime/commands.hpp"
#include "runtime/game_processes.hpp"
#include "runtime/library_monitor.hpp"
#include "runtime/manual_peers.hpp"
#include "runtime/peer_discovery.hpp"
#include "runtime/peer_limits.hpp"
#include "runtime/traffic_meter.hpp"
#include "transfer/download_settings.hpp"
#include "transport/settings.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/result.hpp>

#include <functional>
#include <memory>

namespace lanspread::runtime {

struct PeerConfig {
  std::filesystem::path games_dir;
  std::filesystem::path state_dir;  // identity lives here
  std::shared_ptr<const library::Catalog> catalog;
  std::string name;         // readable label for discovery
  transport::Address bind;  // QUIC address and port (port 0 picks one)
  transport::TransportSettings transport;
  transfer::DownloadSettings download;  // limits and deadlines of downloads
  MonitorSettings monitor;
  // Liveness (docs/discovery.md, "Liveness"): listed peers are pinged every ping_interval;
  // one that has not answered for unreachable_after is shown as unreachable, one silent for
  // drop_after leaves the list (and is probed with backoff while it is still announced or
  // named by address, and listed again once it answers).
  std::chrono::milliseconds ping_interval{1000};
  std::chrono::milliseconds ping_timeout{2000};
  std::chrono::milliseconds unreachable_after{3000};
  std::chrono::milliseconds drop_after{7000};
  std::chrono::milliseconds request_timeout{5000};
  // What peers can make us hold and do (peers, refreshes, dialling); its handshake timeout
  // also bounds transport.handshake_timeout.
  PeerLimits limits;
  unsigned disk_threads = 2;
  // Update, uninstall and remove refuse while a process runs from the game's local/; the
  // install after a download waits for it, looking again this often.
  ProcessScanLimits processes;
  std::chrono::milliseconds game_recheck_interval{1000};
  // Extracts archives on install; null: the libarchive unpacker.
  std::shared_ptr<const install::Unpacker> unpacker;
  // How peers are found. Null: no discovery (peers only through add_peer, for tools).
  // Supervised: a discovery that cannot start is made anew and started again with backoff.
  std::function<std::unique_ptr<PeerDiscovery>(boost::asio::any_io_executor)> discovery;
  // Counts payload bytes to and from each peer (its rates show in the API); null: none.
  std::shared_ptr<TrafficMeter> traffic;
  // Peers named by address (HOST[:PORT], see manual_peers.hpp), dialled without knowing their
  // id. These are not stored; those added with AddManualPeer are, in `manual_store`.
  std::vector<std::string> manual_peers;
  // Where AddManualPeer / RemoveManualPeer persist; loaded at start. Null: not persisted.
  std::shared_ptr<ManualPeerStore> manual_store;
};

using EventSink = std::function<void(PeerEvent)>;

class PeerRuntime;

class PeerRuntimeHandle {
 public:
  explicit PeerRuntimeHandle(std::shared_ptr<PeerRuntime> rt);
  ~PeerRuntimeHandle();  // stops
  PeerRuntimeHandle(const PeerRuntimeHandle&) = delete;
  PeerRuntimeHandle& operator=(const PeerRuntimeHandle&) = delete;

  // Thread-safe; the answer comes as events, and for commands that start or change something
  // also through `decided` (called once on the network thread, when the runtime has decided).
  void send(PeerCommand command, DecisionFn decided = {});
  // Says goodbye, closes connections, joins the network thread. Idempotent.
  void stop();

  const std::string& peer_id() const;
  std::uint16_t port() const;
  // The network thread's executor: front ends (the HTTP API) run their IO on it, so that
  // events and their own handlers never race.
  boost::asio::any_io_executor executor() const;
  // The pool that does blocking disk work: front ends post their own blocking checks to it
  // (never onto the network thread). Valid until stop().
  boost::asio::any_io_executor disk_executor() const;
  // Tells the runtime about a peer directly (no discovery needed; loopback addresses are
  // allowed, unlike from announcements). It is listed once it answers. Thread-safe.
  void add_peer(DiscoveredPeer peer);

 private:
  std::shared_ptr<PeerRuntime> rt_;
};

boost::system::result<std::unique_ptr<PeerRuntimeHandle>> start_peer(PeerConfig config,
                                                                     EventSink sink);

// Checks that `dir` can be the games dir: exists, is a directory, readable and writable.
boost::system::result<void> validate_games_dir(const std::filesystem::path& dir);

}  // namespace lanspread::runtime
