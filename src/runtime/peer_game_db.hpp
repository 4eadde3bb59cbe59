// What the other (verified) peers have: their games and versions, the summaries their
// ListGames answers carried. Manifests are not kept here: a download fetches and holds its
// own. Pure data, owned by the network thread; every answer is computed from what peers
// reported (no IO here). Bounded: at most `max_peers` peers, and per peer at most the games
// of one Games answer (the runtime keeps only catalog games of it).
#pragma once

#include "proto/messages.hpp"
#include "transport/address.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace lanspread::runtime {

using Clock = std::chrono::steady_clock;

struct PeerInfo {
  std::string peer_id;
  std::string name;  // readable label from discovery
  std::vector<transport::Address> addresses;
  // IP address (no port) the connection that proved the peer's id came from; empty or
  // loopback: not counted against `max_per_host`.
  std::string host;
  std::uint64_t library_rev = 0;  // as announced; games are refetched when it changes
  Clock::time_point last_seen{};
};

// One title as the network offers it.
struct GameAvailability {
  std::string id;
  std::string latest_version;             // natural order over downloaded copies
  std::vector<std::string> latest_peers;  // peers that can serve the latest version
  std::map<std::string, std::vector<std::string>> peers_by_version;
  std::uint64_t size = 0;  // of the latest version, as reported
  // Peers downloading a version (swarming): sources of its verified chunks, never counted
  // as holders (not in latest_peers or peers_by_version, never asked for a manifest).
  std::map<std::string, std::vector<std::string>> partial_by_version;
};

class PeerGameDB {
 public:
  explicit PeerGameDB(std::size_t max_peers = 1024, std::size_t max_per_host = 4)
      : max_peers_(max_peers), max_per_host_(max_per_host) {}

  // Adds or refreshes a peer; returns true if it is new. A new peer is not added (false, and
  // peer() stays null) when its host already has `max_per_host` peers, or when the table
  // holds `max_peers` and none of them can make room: a full table evicts the peer whose
  // game list was fetched and holds no game (the least recently seen), named in `evicted`.
  bool upsert_peer(PeerInfo info, std::string* evicted = nullptr);
  // Forgets a peer and everything it reported; returns false if it was unknown.
  bool remove_peer(const std::string& peer_id);
  // Peers not seen since `cutoff`, removed; their ids are returned.
  std::vector<std::string> prune(Clock::time_point cutoff);
  void touch(const std::string& peer_id, Clock::time_point when);

  // Replaces a peer's game list (answer to ListGames) and the revision it belongs to.
  void set_games(const std::string& peer_id, std::vector<proto::GameSummary> games,
                 std::uint64_t rev);
  // A ListGames request to the peer starts now (whether it will succeed or not).
  void note_refresh(const std::string& peer_id, Clock::time_point now);

  const PeerInfo* peer(const std::string& peer_id) const;
  std::vector<const PeerInfo*> peers() const;
  std::size_t peer_count() const { return peers_.size(); }
  // Whether the peer's games should be (re)fetched now: never fetched or its rev moved on,
  // and the last request is at least `min_interval` old (a peer that bumps its revision on
  // every Pong is still asked only that often).
  bool needs_refresh(const std::string& peer_id, Clock::time_point now,
                     Clock::duration min_interval) const;

  std::optional<std::string> latest_version(const std::string& game_id) const;
  std::vector<std::string> peers_with(const std::string& game_id, const std::string& version) const;
  // Peers that say they are downloading `version` of the game (GameSummary::partial_version).
  std::vector<std::string> partial_peers(const std::string& game_id,
                                         const std::string& version) const;
  std::vector<GameAvailability> games() const;
  std::optional<GameAvailability> game(const std::string& game_id) const;

 private:
  struct PeerState {
    PeerInfo info;
    std::optional<std::uint64_t> games_rev;  // rev of the list we hold
    std::optional<Clock::time_point> asked;  // when the last ListGames started
    std::map<std::string, proto::GameSummary> games;
  };
  std::size_t max_peers_;
  std::size_t max_per_host_;
  std::map<std::string, PeerState> peers_;
};

// The manifest of the largest group of the given peers that agree on it (all for one version;
// ties go to the smallest manifest digest, so every downloader picks the same group).
// `dissenters` names the peers whose manifest differs from the chosen one: they are not asked.
struct MergedManifest {
  proto::Game manifest;
  std::vector<std::string> agreeing;
  std::vector<std::string> dissenters;
  // Sizes of the groups of peers that sent the same manifest, the chosen group first, then
  // largest first: one entry when they all agree.
  std::vector<std::size_t> groups;
};

// The vote behind MergedManifest, holding one manifest at a time whatever the number of peers:
// only the count of the manifest just added changes, so the leader can only become that one,
// which is in hand. Each manifest comes with a digest of its canonical encoding.
class ManifestVote {
 public:
  void add(std::string peer, const proto::Sha256& digest, proto::Game manifest);
  std::size_t size() const noexcept { return votes_.size(); }
  // The largest agreeing group's manifest, if any peer sent one.
  std::optional<MergedManifest> result() const;

 private:
  std::vector<std::pair<std::string, proto::Sha256>> votes_;
  std::vector<std::pair<proto::Sha256, std::size_t>> counts_;  // per distinct digest
  std::optional<proto::Sha256> leader_;
  std::size_t leader_count_ = 0;
  proto::Game leader_manifest_;
};

// Peers whose manifest of a version lost a vote (by its digest): not asked for that version's
// manifest again within `window`, so a dissenter cannot make every later vote fetch and
// decode its (up to 64 MiB) manifest again. A later vote won by the same digest clears it.
// Bounded: beyond `max_entries`, expired entries go first, then the oldest.
class ManifestDissent {
 public:
  explicit ManifestDissent(Clock::duration window = std::chrono::minutes(10),
                           std::size_t max_entries = 4096)
      : window_(window), max_entries_(max_entries) {}

  void remember(const std::string& peer, const std::string& game, const std::string& version,
                const proto::Sha256& digest, Clock::time_point now);
  // Whether the peer's manifest of that version lost a vote within the window.
  bool dissented(const std::string& peer, const std::string& game, const std::string& version,
                 Clock::time_point now) const;
  // A vote for that version was won by `digest`: peers remembered for it were right.
  void agreed(const std::string& game, const std::string& version, const proto::Sha256& digest);
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  using Key = std::tuple<std::string, std::string, std::string>;  // game, version, peer
  struct Entry {
    proto::Sha256 digest;
    Clock::time_point at;
  };
  Clock::duration window_;
  std::size_t max_entries_;
  std::map<Key, Entry> entries_;
};

}  // namespace lanspread::runtime
