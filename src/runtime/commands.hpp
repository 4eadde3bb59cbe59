// Commands a front end sends to the runtime, and the events it gets back (DESIGN §10; named as
// in the reference). Plain values.
#pragma once

#include "library/scan.hpp"
#include "proto/messages.hpp"
#include "runtime/game_view.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

namespace lanspread::runtime {

// ---- commands ----
struct ListGames {};
// Asks the peers that have the latest version for the manifest (-> GotGameFiles).
struct GetGame {
  std::string id;
};
// The same for an update: always asks the peers, never answers from local files.
struct FetchLatestFromPeers {
  std::string id;
};
struct SetGameDir {
  std::filesystem::path dir;
};
struct GetPeerCount {};
// Extracts the downloaded game into local/ (an update when local/ exists).
struct InstallGame {
  std::string id;
};
// Deletes local/ (player files included); the download stays.
struct UninstallGame {
  std::string id;
};
// Deletes the whole downloaded game; refused while it is installed or busy.
struct RemoveDownloadedGame {
  std::string id;
};
// Stops the running install-side operation of a game (rolled back).
struct CancelOperation {
  std::string id;
};
// Downloads the latest version from every peer that has it (then installs it).
struct DownloadGameFiles {
  std::string id;
};
// Checks every chunk of the downloaded version against the manifest the peers that offer
// that version agree on, and fetches from them what differs (a download over the payload
// that is there; progress and end like a download, kind `verify`).
struct VerifyGame {
  std::string id;
};
// Stops a running download; the partly downloaded payload is deleted (local/ stays).
struct CancelDownload {
  std::string id;
};

// A peer named by address ("HOST[:PORT]", see manual_peers.hpp); kept across restarts.
struct AddManualPeer {
  std::string address;
};
// Forgets a manual peer (`address` as ManualPeerView::address shows it).
struct RemoveManualPeer {
  std::string address;
};

using PeerCommand =
    std::variant<ListGames, GetGame, FetchLatestFromPeers, SetGameDir, GetPeerCount, InstallGame,
                 UninstallGame, RemoveDownloadedGame, CancelOperation, DownloadGameFiles,
                 CancelDownload, AddManualPeer, RemoveManualPeer, VerifyGame>;

// The runtime's answer to a command that starts or changes something, given once it has
// decided: accepted (the operation started, the setting changed) or refused, with a stable
// `code` ("refused": the game's or the runtime's state does not allow it; "game_running": a
// process runs from the game's local/; "games_dir_invalid": the directory cannot be used) and
// a `reason` that says why and what to do.
struct CommandDecision {
  bool accepted = true;
  std::string code;
  std::string reason;
};
// Called once, on the network thread.
using DecisionFn = std::function<void(const CommandDecision&)>;

enum class OperationKind { install, update, uninstall, remove, download, verify };
std::string_view to_string(OperationKind k) noexcept;

// What runs on a game right now; the single source of truth for front ends.
struct ActiveOperation {
  OperationKind kind = OperationKind::install;
  // "starting", "waiting_for_game", "extracting", "copying", "carrying", "removing";
  // downloads and verifies: "resolving", "checking", "downloading", "waiting_for_peers",
  // "committing"
  std::string phase;
  std::uint64_t done = 0;  // downloads: bytes received (see transfer::DownloadProgress)
  std::uint64_t total = 0;
  std::uint64_t bytes_per_second = 0;  // downloads: network bytes, moving average
  std::size_t active_peers = 0;        // downloads: peers with a chunk stream in flight
  std::uint64_t verified = 0;          // downloads: bytes verified
  std::optional<std::uint64_t> eta_seconds =
      std::nullopt;                   // downloads: null until a speed is known
  std::uint64_t stalled_seconds = 0;  // downloads: since the last byte arrived
  // waiting_for_game: the process the operation waits for ("process NAME (pid N)")
  std::string waiting_for = {};
};

// ---- events ----
struct PeerView {
  std::string id;
  std::string name;
  std::vector<std::string> addresses;  // "ip:port"
  std::uint16_t port = 0;              // QUIC port
  std::size_t game_count = 0;
  std::int64_t last_seen_ms_ago = 0;
  // "reachable", or "unreachable" once pings go unanswered (it leaves the list soon after,
  // and is listed again when it answers; docs/discovery.md, "Liveness").
  std::string state = "reachable";
  bool manual = false;  // reached through an address a user named
};

// A listed peer became unreachable, or reachable again.
struct PeerStateChanged {
  std::string id;
  std::string state;
};

// Discovery's state: "starting", "waiting_for_interface", "running", "restarting", "off";
// and the interfaces mDNS runs on.
struct DiscoveryStatus {
  std::string state;
  std::vector<std::string> interfaces;
};

struct ManualPeerView {
  std::string address;  // "host:port"
  std::string peer_id;  // empty until a handshake proved one
};
// The manual peers, after every change.
struct ManualPeers {
  std::vector<ManualPeerView> peers;
};
// An AddManualPeer / RemoveManualPeer that was refused, or a store that failed.
struct ManualPeerRefused {
  std::string address;
  std::string reason;
};

// The merged library (catalog + local + peers); sent on ListGames and whenever it changes.
struct LibrarySnapshot {
  std::vector<GameView> games;
  std::uint64_t local_revision = 0;
};
// The local scan changed (separate from active-operation snapshots).
struct LocalLibraryChanged {
  std::shared_ptr<const library::LocalLibrary> library;
  std::set<std::string> changed;
};
struct GotGameFiles {
  std::string id;
  proto::Game manifest;
  std::vector<std::string> peers;  // peers that serve exactly this manifest
};
struct GetGameFailed {
  std::string id;
  std::string reason;
};
struct PeerJoined {
  PeerView peer;
};
struct PeerLeft {
  std::string id;
  std::string reason;
};
struct PeerCount {
  std::size_t count = 0;
};
struct GameDirChanged {
  std::filesystem::path dir;
};
struct GameDirRejected {
  std::filesystem::path dir;
  std::string reason;
};
// A long-lived task failed and is being restarted, or a scan failed.
struct RuntimeFailure {
  std::string task;
  std::string message;
};

struct OperationBegin {
  std::string id;
  OperationKind kind;
};
struct OperationProgress {
  std::string id;
  ActiveOperation operation;
};
struct OperationFinished {
  std::string id;
  OperationKind kind;
  std::uint64_t bytes_fetched = 0;  // downloads: bytes that crossed the network
  std::uint64_t bytes_reused = 0;   // downloads: bytes already right on disk
};
// `rolled_back`: the game is as it was before (always, unless recovery itself failed).
struct OperationFailed {
  std::string id;
  OperationKind kind;
  std::string reason;
  bool rolled_back = true;
};
// Stopped on request. A download that updates a game leaves the old version as it was (its
// staged work is kept for the next attempt); a first download's fetched payload is gone. local/
// stays.
struct OperationCancelled {
  std::string id;
  OperationKind kind;
};
// The command was not started; `reason` says why and what to do. `code`: a stable word for
// scripts when there is one ("up_to_date", "newer_local_version", "no_sources"), else empty.
struct OperationRefused {
  std::string id;
  std::string reason;
  std::string code = {};
};
// The peers that offer `split.version` do not agree on its files: the download goes on with
// the chosen (largest; on a tie, smallest digest) group only.
struct ManifestDisagreement {
  std::string id;
  ManifestSplit split;
  std::vector<std::string> chosen_peers;
  std::vector<std::string> dissenting_peers;
};
// Every running operation (sent whenever one starts, changes phase or ends).
struct ActiveOperations {
  std::map<std::string, ActiveOperation> operations;
};
// Startup recovery repaired an interrupted operation.
struct GameRecovered {
  std::string id;
  std::string outcome;  // "rolled_back", "rolled_forward", "tidied", or "failed"
  std::vector<std::string> notes;
};

using PeerEvent = std::variant<LibrarySnapshot, LocalLibraryChanged, GotGameFiles, GetGameFailed,
                               PeerJoined, PeerLeft, PeerCount, GameDirChanged, GameDirRejected,
                               RuntimeFailure, OperationBegin, OperationProgress, OperationFinished,
                               OperationFailed, OperationCancelled, OperationRefused,
                               ActiveOperations, GameRecovered, PeerStateChanged, DiscoveryStatus,
                               ManualPeers, ManualPeerRefused, ManifestDisagreement>;

}  // namespace lanspread::runtime
