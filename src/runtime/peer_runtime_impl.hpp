// Internal to the runtime module: the PeerRuntime behind PeerRuntimeHandle. Its member
// functions live in peer_runtime.cpp (tasks, pings, refreshes, commands), peer_dialing.cpp
// (discovered peers, dialling, verification) and peer_operations.cpp (downloads and
// install-side operations). Network thread only, unless a comment says so.
#pragma once

#include "runtime/peer_runtime.hpp"

#include "install/error.hpp"
#include "install/libarchive_unpacker.hpp"
#include "install/recovery.hpp"
#include "install/remove_game.hpp"
#include "install/transaction.hpp"
#include "library/version.hpp"

#include "runtime/dial_planner.hpp"
#include "runtime/download_task.hpp"
#include "runtime/error.hpp"
#include "runtime/fetch_gate.hpp"
#include "runtime/game_server.hpp"
#include "runtime/peer_client.hpp"
#include "transport/endpoint.hpp"

#include <netinet/in.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <future>
#include <thread>

namespace lanspread::runtime {
namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;

// Repairs interrupted operations in `dir` (blocking: disk pool or before the network thread runs).
std::vector<GameRecovered> recover_games(const std::filesystem::path& dir,
                                         const library::Catalog& catalog);

class PeerRuntime : public std::enable_shared_from_this<PeerRuntime> {
 public:
  PeerRuntime(PeerConfig config, EventSink sink)
      : config_(std::move(config)),
        sink_(std::move(sink)),
        disk_(std::max(1u, config_.disk_threads)),
        peers_(config_.limits.max_peers, config_.limits.max_peers_per_host),
        dials_(config_.limits),
        probe_timer_(io_),
        manifest_gate_(io_.get_executor(), config_.limits.max_manifest_fetches),
        refresh_gate_(io_.get_executor(), config_.limits.max_refreshes),
        dissent_(config_.limits.dissent_memory, config_.limits.max_dissent_entries),
        discovery_wake_(io_.get_executor()),
        store_strand_(asio::make_strand(disk_.get_executor())) {}

  boost::system::result<void> start();
  void stop();
  void post(PeerCommand c, DecisionFn decided) {
    asio::post(
        io_, [self = shared_from_this(), c = std::move(c), decided = std::move(decided)]() mutable {
          self->on_command(std::move(c), std::move(decided));
        });
  }
  void add_peer(DiscoveredPeer p) {
    asio::post(io_, [self = shared_from_this(), p = std::move(p)] { self->on_seen(p, false); });
  }

  std::string peer_id_;
  std::uint16_t port_ = 0;
  boost::asio::any_io_executor executor() { return io_.get_executor(); }
  boost::asio::any_io_executor disk_executor() { return disk_.get_executor(); }

 private:
  void emit(PeerEvent e) {
    if (sink_) sink_(std::move(e));
  }
  // Emits the merged library; unless `always` (an answer to ListGames), only when it differs
  // from the last one emitted (peers refreshing unchanged lists cost no event).
  void emit_snapshot(bool always = false) {
    auto lib = monitor_ ? monitor_->snapshot() : nullptr;
    LibrarySnapshot s{merge_views(*config_.catalog, lib.get(), peers_, splits_),
                      monitor_ ? monitor_->revision() : 0};
    const auto digest = snapshot_digest(s.games, s.local_revision);
    if (!always && digest == last_snapshot_) return;
    last_snapshot_ = digest;
    emit(std::move(s));
  }
  PeerView view_of(const PeerInfo& p) const;
  // A peer was announced (`announced`) or named by a local caller: a candidate to probe.
  void on_seen(const DiscoveredPeer& p, bool announced);
  // Its announcement is gone: forgotten, and dropped from the list if it was there.
  void on_unannounced(const std::string& id);
  // It answered a Ping over a handshake (from `from`) that proved its id: listed from now on,
  // if the table has room for it and its host.
  void on_verified(const std::string& id, std::uint64_t rev, const transport::Address& from);
  // A peer left: parked candidates are probed again.
  void unpark();
  // Dropped from the list (it stays a candidate while it is announced).
  void on_lost(const std::string& id, const std::string& reason);
  // Not heard from for drop_after: its connection is closed and it leaves the list.
  void drop_silent(const std::string& id);
  // The peer answered (a Pong or a game list): it is reachable.
  void note_answer(const std::string& id);
  // Watches a connection we dialled: when the peer closes it (a clean stop), the peer leaves
  // the list at once.
  awaitable<void> watch_link(std::string id, std::shared_ptr<transport::Connection> conn);
  void emit_discovery_status(std::string state);
  awaitable<void> discovery_task();

  // ---- manual peers (peer_manual.cpp) ----
  struct ManualEntry {
    ManualAddress address;
    std::string pseudo;   // its key in the DialPlanner until the id is known: "manual:host:port"
    std::string peer_id;  // proved by a handshake; empty before
    bool persisted = false;
    bool resolving = false;
    bool offered = false;  // the planner knows its addresses
    Clock::time_point next_resolve{};
  };
  static bool is_manual_key(const std::string& id) { return id.starts_with("manual:"); }
  void add_manual(const std::string& text, bool persist);
  void remove_manual(const std::string& text);
  void resolve_manual(const std::string& key);
  void resolve_due_manual();
  // A dial to a manual address got through: the id it proved becomes a known peer.
  std::string adopt_manual(const std::string& key, const std::shared_ptr<transport::Connection>& c);
  bool is_manual_peer(const std::string& id) const;
  void emit_manual();
  void save_manual();
  // Hands free handshake slots to waiting dials and starts due probes.
  void pump_dials();
  awaitable<void> probe(std::string id);
  // Starts a refresh of the peer's games if they are stale and the interval allows.
  void maybe_refresh(const std::string& id);
  void on_command(PeerCommand c, DecisionFn decided);

  awaitable<void> supervise(std::string name, std::function<awaitable<void>()> task);
  awaitable<void> server_task();
  awaitable<void> ping_task();
  awaitable<void> ping_one(std::string id);
  awaitable<void> refresh(std::string id);
  awaitable<void> get_game(std::string id, bool from_peers_only);
  // The manifest of `version` (none: the latest) that the largest group of the peers that
  // have it agree on; a split is reported (ManifestDisagreement) and kept for the game view.
  awaitable<std::optional<MergedManifest>> fetch_manifest(
      std::string id, std::string& why, std::optional<std::string> version = std::nullopt);
  // A download of the latest version, or (`verify`) of the version on disk over itself.
  awaitable<void> download(std::string id, OperationKind kind, DecisionFn decided);
  // A peer's game list changed: running downloads of a version it now serves (with the same
  // manifest) take it as a source; those of a version it no longer serves let it go.
  void offer_to_downloads(const std::string& peer);
  // A peer left: no download asks it any more.
  void withdraw_from_downloads(const std::string& peer);
  awaitable<boost::system::result<std::shared_ptr<transport::Connection>>> connect(std::string id);
  // Starts an install-side operation. Update, uninstall and remove are refused while a process
  // runs from the game's local/; with `wait_for_game` (the install after a download) the
  // operation waits in phase waiting_for_game instead, cancellable.
  awaitable<void> run_operation(std::string id, OperationKind requested, DecisionFn decided,
                                bool wait_for_game);
  // The process running from the game's local/, if any (scanned on the disk pool).
  awaitable<std::optional<GameProcess>> game_process(std::string id);
  // Emits OperationRefused and tells the caller.
  void refuse(const std::string& id, const DecisionFn& decided, std::string code,
              std::string reason);
  // Why no operation may start on `id` now (empty: it may).
  std::string busy_reason(const std::string& id) const;
  void on_operation_progress(const std::string& id, const install::Progress& p);
  void finish_operation(const std::string& id, OperationKind kind, boost::system::error_code ec,
                        std::string detail);
  void emit_operations();
  // Validates `dir` and repairs its interrupted operations on the disk pool, then switches.
  awaitable<void> change_game_dir(std::filesystem::path dir, DecisionFn decided);

  PeerConfig config_;
  EventSink sink_;
  asio::io_context io_;
  asio::thread_pool disk_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::thread thread_;
  std::shared_ptr<transport::Endpoint> endpoint_;
  std::shared_ptr<LibraryMonitor> monitor_;
  std::shared_ptr<GameServer> server_;
  std::unique_ptr<PeerDiscovery> discovery_;
  PeerGameDB peers_;  // verified peers only
  DialPlanner dials_;
  std::map<std::string, DiscoveredPeer> announced_;  // latest announcement of each candidate
  // Connections we dialled, by peer: reused while open.
  std::map<std::string, std::weak_ptr<transport::Connection>> links_;
  std::map<DialPlanner::Ticket, std::shared_ptr<transport::Signal>> dial_waiters_;
  asio::steady_timer probe_timer_;
  std::optional<Clock::time_point> probe_timer_at_;
  struct RunningOperation {
    ActiveOperation state;
    std::stop_source stop;
    Clock::time_point last_report{};
  };
  std::map<std::string, RunningOperation> operations_;
  std::map<std::string, std::shared_ptr<Download>> downloads_;  // by game id, while running
  // Swarming: versions completed by a download, still served by their manifest digest to the
  // peers that fetched them from us as a partial source (until the game is downloaded anew).
  std::map<std::string, std::shared_ptr<const PartialGame>> completed_;
  // What the game server offers by manifest digest: running downloads and completed_.
  std::vector<std::shared_ptr<const PartialGame>> partial_games() const;
  // A running download of `game` learns the chunk map of a partial peer and takes it.
  void offer_partial(const std::string& peer, const std::string& game,
                     std::shared_ptr<Download> download);
  // Swarming: the download of `game` offers its chunks now (its local check is over). Every
  // verified peer that does not hold the version is asked for its chunk map at once (at most
  // `PeerLimits::max_partial_probes`), so downloaders of one version find each other without
  // waiting for a game-list refresh; a peer asked that way asks back (asked_for_map).
  void probe_partials(const std::string& game);
  // Our game server sent `peer` the chunk map of a version we download: it downloads that
  // version too, so it may be a partial source for us.
  void asked_for_map(const std::string& peer, const PartialGame& offer);
  // (game, peer) whose chunk map is being asked by offer_partial: one question at a time.
  std::set<std::pair<std::string, std::string>> offering_;
  // The local library's revision moved for a reason the scan cannot see (a download starts
  // or ends and its partial version is offered or withdrawn): peers refetch our list.
  void announce_partial_change();
  // Games whose operation is being decided (a /proc scan runs): nothing else starts on them.
  std::set<std::string> claims_;
  bool dir_changing_ = false;             // a games dir change is being validated and recovered
  std::vector<GameRecovered> recovered_;  // from startup recovery, emitted once running
  DownloadReport last_download_;          // of the download being reported as finished
  std::map<std::string, int> failures_;
  std::map<std::string, ManifestSplit> splits_;  // by game: the last vote, when it split
  std::set<std::string> busy_;                   // peers with a ping or refresh in flight
  // Verified candidates the table had no room for: not probed again until a peer leaves.
  std::set<std::string> parked_;
  std::optional<proto::Sha256> last_snapshot_;  // digest of the last LibrarySnapshot emitted
  FetchGate manifest_gate_;                     // GetGame requests at once, over all peers
  FetchGate refresh_gate_;                      // ListGames requests at once, over all peers
  ManifestDissent dissent_;  // peers whose manifest lost a vote, by game and version
  bool stopping_ = false;
  // Liveness of listed peers.
  std::map<std::string, Clock::time_point> last_answer_;
  std::set<std::string> unreachable_;
  std::set<std::string> from_mdns_;  // ids an mDNS announcement names right now
  transport::Signal discovery_wake_;
  std::map<std::string, ManualEntry> manual_;  // by "host:port"
  asio::strand<asio::thread_pool::executor_type> store_strand_;
};

}  // namespace lanspread::runtime
