#include "runtime/peer_game_db.hpp"

#include "library/version.hpp"

#include <algorithm>

namespace lanspread::runtime {

bool PeerGameDB::upsert_peer(PeerInfo info) {
  auto [it, inserted] = peers_.try_emplace(info.peer_id);
  it->second.info = std::move(info);
  return inserted;
}

bool PeerGameDB::remove_peer(const std::string& peer_id) {
  return peers_.erase(peer_id) > 0;
}

std::vector<std::string> PeerGameDB::prune(Clock::time_point cutoff) {
  std::vector<std::string> gone;
  for (auto it = peers_.begin(); it != peers_.end();) {
    if (it->second.info.last_seen < cutoff) {
      gone.push_back(it->first);
      it = peers_.erase(it);
    } else {
      ++it;
    }
  }
  return gone;
}

void PeerGameDB::touch(const std::string& peer_id, Clock::time_point when) {
  if (auto it = peers_.find(peer_id); it != peers_.end()) it->second.info.last_seen = when;
}

void PeerGameDB::set_games(const std::string& peer_id, std::vector<proto::GameSummary> games,
                           std::uint64_t rev) {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return;
  PeerState& p = it->second;
  std::map<std::string, proto::GameSummary> fresh;
  for (auto& g : games) fresh.emplace(g.id, std::move(g));
  for (auto m = p.manifests.begin(); m != p.manifests.end();) {
    auto g = fresh.find(m->first);
    const bool still_valid =
        g != fresh.end() && g->second.downloaded && g->second.version == m->second.version;
    m = still_valid ? std::next(m) : p.manifests.erase(m);
  }
  p.games = std::move(fresh);
  p.games_rev = rev;
}

bool PeerGameDB::set_manifest(const std::string& peer_id, proto::Game manifest) {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return false;
  auto g = it->second.games.find(manifest.id);
  if (g == it->second.games.end() || !g->second.downloaded || g->second.version != manifest.version)
    return false;
  it->second.manifests[manifest.id] = std::move(manifest);
  return true;
}

const PeerInfo* PeerGameDB::peer(const std::string& peer_id) const {
  auto it = peers_.find(peer_id);
  return it == peers_.end() ? nullptr : &it->second.info;
}

std::vector<const PeerInfo*> PeerGameDB::peers() const {
  std::vector<const PeerInfo*> out;
  for (const auto& [id, p] : peers_) out.push_back(&p.info);
  return out;
}

bool PeerGameDB::needs_refresh(const std::string& peer_id) const {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return false;
  return !it->second.games_rev || *it->second.games_rev != it->second.info.library_rev;
}

std::optional<std::string> PeerGameDB::latest_version(const std::string& game_id) const {
  std::optional<std::string> best;
  for (const auto& [id, p] : peers_) {
    auto g = p.games.find(game_id);
    if (g == p.games.end() || !g->second.downloaded || g->second.version.empty()) continue;
    if (!best || library::natural_compare(g->second.version, *best) > 0) best = g->second.version;
  }
  return best;
}

std::vector<std::string> PeerGameDB::peers_with(const std::string& game_id,
                                                const std::string& version) const {
  std::vector<std::string> out;
  for (const auto& [id, p] : peers_) {
    auto g = p.games.find(game_id);
    if (g != p.games.end() && g->second.downloaded && g->second.version == version)
      out.push_back(id);
  }
  return out;
}

const proto::Game* PeerGameDB::manifest(const std::string& peer_id,
                                        const std::string& game_id) const {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return nullptr;
  auto m = it->second.manifests.find(game_id);
  return m == it->second.manifests.end() ? nullptr : &m->second;
}

std::optional<GameAvailability> PeerGameDB::game(const std::string& game_id) const {
  GameAvailability a;
  a.id = game_id;
  bool any = false;
  for (const auto& [id, p] : peers_) {
    auto g = p.games.find(game_id);
    if (g == p.games.end()) continue;
    any = true;
    if (!g->second.downloaded || g->second.version.empty()) continue;
    a.peers_by_version[g->second.version].push_back(id);
  }
  if (!any) return std::nullopt;
  if (auto latest = latest_version(game_id)) {
    a.latest_version = *latest;
    a.latest_peers = a.peers_by_version[*latest];
    for (const auto& id : a.latest_peers) {
      a.size = std::max(a.size, peers_.at(id).games.at(game_id).size);
    }
  }
  return a;
}

std::vector<GameAvailability> PeerGameDB::games() const {
  std::vector<std::string> ids;
  for (const auto& [id, p] : peers_)
    for (const auto& [gid, g] : p.games) ids.push_back(gid);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::vector<GameAvailability> out;
  for (const auto& id : ids)
    if (auto a = game(id)) out.push_back(std::move(*a));
  return out;
}

std::optional<MergedManifest> merge_manifests(
    const std::vector<std::pair<std::string, proto::Game>>& by_peer) {
  if (by_peer.empty()) return std::nullopt;
  // Group identical manifests; the largest group wins if it is a strict majority.
  std::vector<std::pair<const proto::Game*, std::vector<std::string>>> groups;
  for (const auto& [peer, game] : by_peer) {
    auto it =
        std::find_if(groups.begin(), groups.end(), [&](const auto& g) { return *g.first == game; });
    if (it == groups.end()) {
      groups.push_back({&game, {peer}});
    } else {
      it->second.push_back(peer);
    }
  }
  auto best = std::max_element(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
    return a.second.size() < b.second.size();
  });
  if (best->second.size() * 2 <= by_peer.size()) return std::nullopt;
  MergedManifest out{*best->first, best->second, {}};
  for (const auto& g : groups) {
    if (&g == &*best) continue;
    out.dissenters.insert(out.dissenters.end(), g.second.begin(), g.second.end());
  }
  std::sort(out.dissenters.begin(), out.dissenters.end());
  return out;
}

}  // namespace lanspread::runtime
