// What the other peers have: their games, versions and last manifests. Pure data, owned by
// the network thread; every answer is computed from what peers reported (no IO here).
#pragma once

#include "proto/messages.hpp"
#include "transport/address.hpp"

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lanspread::runtime {

using Clock = std::chrono::steady_clock;

struct PeerInfo {
  std::string peer_id;
  std::string name;  // readable label from discovery
  std::vector<transport::Address> addresses;
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
};

class PeerGameDB {
 public:
  // Adds or refreshes a peer; returns true if it is new.
  bool upsert_peer(PeerInfo info);
  // Forgets a peer and everything it reported; returns false if it was unknown.
  bool remove_peer(const std::string& peer_id);
  // Peers not seen since `cutoff`, removed; their ids are returned.
  std::vector<std::string> prune(Clock::time_point cutoff);
  void touch(const std::string& peer_id, Clock::time_point when);

  // Replaces a peer's game list (answer to ListGames) and the revision it belongs to.
  // Manifests of games whose version changed or that vanished are dropped.
  void set_games(const std::string& peer_id, std::vector<proto::GameSummary> games,
                 std::uint64_t rev);
  // Keeps a peer's manifest if it matches the version the peer advertises for that game.
  bool set_manifest(const std::string& peer_id, proto::Game manifest);

  const PeerInfo* peer(const std::string& peer_id) const;
  std::vector<const PeerInfo*> peers() const;
  std::size_t peer_count() const { return peers_.size(); }
  // Whether the peer's games must be (re)fetched: never fetched, or its rev moved on.
  bool needs_refresh(const std::string& peer_id) const;

  std::optional<std::string> latest_version(const std::string& game_id) const;
  std::vector<std::string> peers_with(const std::string& game_id, const std::string& version) const;
  const proto::Game* manifest(const std::string& peer_id, const std::string& game_id) const;
  std::vector<GameAvailability> games() const;
  std::optional<GameAvailability> game(const std::string& game_id) const;

 private:
  struct PeerState {
    PeerInfo info;
    std::optional<std::uint64_t> games_rev;  // rev of the list we hold
    std::map<std::string, proto::GameSummary> games;
    std::map<std::string, proto::Game> manifests;
  };
  std::map<std::string, PeerState> peers_;
};

// The manifest most of the given peers agree on (all for one version). Fails when there is
// none, or when no manifest is backed by more than half of them; `dissenters` names peers
// whose manifest differs from the chosen one (candidates for being marked suspect).
struct MergedManifest {
  proto::Game manifest;
  std::vector<std::string> agreeing;
  std::vector<std::string> dissenters;
};
std::optional<MergedManifest> merge_manifests(
    const std::vector<std::pair<std::string, proto::Game>>& by_peer);

}  // namespace lanspread::runtime
