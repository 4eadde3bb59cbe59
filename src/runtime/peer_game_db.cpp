#include "runtime/peer_game_db.hpp"

#include "library/version.hpp"

#include <algorithm>

namespace lanspread::runtime {

namespace {

bool counted_host(const std::string& host) {
  return !host.empty() && host != "127.0.0.1" && host != "::1" && !host.starts_with("127.");
}

}  // namespace

bool PeerGameDB::upsert_peer(PeerInfo info, std::string* evicted) {
  if (!peers_.contains(info.peer_id)) {
    if (counted_host(info.host)) {
      const auto same_host = std::count_if(peers_.begin(), peers_.end(), [&](const auto& kv) {
        return kv.second.info.host == info.host;
      });
      if (static_cast<std::size_t>(same_host) >= max_per_host_) return false;
    }
    if (peers_.size() >= max_peers_) {
      // Room is made only at the cost of a peer known to offer nothing: its list was fetched
      // and held no catalog game. A newcomer whose list is not fetched yet is not evicted.
      auto victim = peers_.end();
      for (auto it = peers_.begin(); it != peers_.end(); ++it) {
        const PeerState& p = it->second;
        if (!p.games_rev || !p.games.empty()) continue;
        if (victim == peers_.end() || p.info.last_seen < victim->second.info.last_seen) victim = it;
      }
      if (victim == peers_.end()) return false;
      if (evicted) *evicted = victim->first;
      peers_.erase(victim);
    }
  }
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
  p.games = std::move(fresh);
  p.games_rev = rev;
}

void PeerGameDB::note_refresh(const std::string& peer_id, Clock::time_point now) {
  if (auto it = peers_.find(peer_id); it != peers_.end()) it->second.asked = now;
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

bool PeerGameDB::needs_refresh(const std::string& peer_id, Clock::time_point now,
                               Clock::duration min_interval) const {
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return false;
  const PeerState& p = it->second;
  const bool stale = !p.games_rev || *p.games_rev != p.info.library_rev;
  return stale && (!p.asked || now - *p.asked >= min_interval);
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

std::vector<std::string> PeerGameDB::partial_peers(const std::string& game_id,
                                                   const std::string& version) const {
  std::vector<std::string> out;
  for (const auto& [id, p] : peers_) {
    auto g = p.games.find(game_id);
    if (!version.empty() && g != p.games.end() && g->second.partial_version == version)
      out.push_back(id);
  }
  return out;
}

std::optional<GameAvailability> PeerGameDB::game(const std::string& game_id) const {
  GameAvailability a;
  a.id = game_id;
  bool any = false;
  for (const auto& [id, p] : peers_) {
    auto g = p.games.find(game_id);
    if (g == p.games.end()) continue;
    any = true;
    if (!g->second.partial_version.empty())
      a.partial_by_version[g->second.partial_version].push_back(id);
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

void ManifestVote::add(std::string peer, const proto::Sha256& digest, proto::Game manifest) {
  votes_.emplace_back(std::move(peer), digest);
  auto it = std::find_if(counts_.begin(), counts_.end(),
                         [&](const auto& c) { return c.first == digest; });
  if (it == counts_.end()) it = counts_.insert(counts_.end(), {digest, 0});
  const std::size_t n = ++it->second;
  if (leader_ && *leader_ == digest) {
    leader_count_ = n;
    return;
  }
  if (!leader_ || n > leader_count_ || (n == leader_count_ && digest.bytes < leader_->bytes)) {
    leader_ = digest;
    leader_count_ = n;
    leader_manifest_ = std::move(manifest);
  }
}

std::optional<MergedManifest> ManifestVote::result() const {
  if (!leader_) return std::nullopt;
  MergedManifest out{leader_manifest_, {}, {}, {leader_count_}};
  for (const auto& [peer, digest] : votes_)
    (digest == *leader_ ? out.agreeing : out.dissenters).push_back(peer);
  std::sort(out.agreeing.begin(), out.agreeing.end());
  std::sort(out.dissenters.begin(), out.dissenters.end());
  std::vector<std::size_t> others;
  for (const auto& [digest, n] : counts_)
    if (!(digest == *leader_)) others.push_back(n);
  std::sort(others.rbegin(), others.rend());
  out.groups.insert(out.groups.end(), others.begin(), others.end());
  return out;
}

void ManifestDissent::remember(const std::string& peer, const std::string& game,
                               const std::string& version, const proto::Sha256& digest,
                               Clock::time_point now) {
  Key key{game, version, peer};
  if (!entries_.contains(key) && entries_.size() >= max_entries_) {
    std::erase_if(entries_, [&](const auto& kv) { return now - kv.second.at >= window_; });
    if (entries_.size() >= max_entries_) {
      auto oldest =
          std::min_element(entries_.begin(), entries_.end(),
                           [](const auto& a, const auto& b) { return a.second.at < b.second.at; });
      entries_.erase(oldest);
    }
  }
  entries_[std::move(key)] = Entry{digest, now};
}

bool ManifestDissent::dissented(const std::string& peer, const std::string& game,
                                const std::string& version, Clock::time_point now) const {
  auto it = entries_.find(Key{game, version, peer});
  return it != entries_.end() && now - it->second.at < window_;
}

void ManifestDissent::agreed(const std::string& game, const std::string& version,
                             const proto::Sha256& digest) {
  std::erase_if(entries_, [&](const auto& kv) {
    return std::get<0>(kv.first) == game && std::get<1>(kv.first) == version &&
           kv.second.digest == digest;
  });
}

}  // namespace lanspread::runtime
