#include "runtime/game_view.hpp"

#include "library/hasher.hpp"
#include "library/version.hpp"

namespace lanspread::runtime {

std::vector<GameView> merge_views(const library::Catalog& catalog,
                                  const library::LocalLibrary* local, const PeerGameDB& peers,
                                  const std::map<std::string, ManifestSplit>& splits) {
  std::vector<GameView> out;
  out.reserve(catalog.size());
  for (const auto& [id, entry] : catalog.entries()) {
    GameView v;
    v.info = entry;
    if (const library::LocalGame* g = local ? local->find(id) : nullptr) {
      v.downloaded = g->downloaded;
      v.installed = g->installed;
      v.local_version = g->version;
      v.local_size = g->size;
    }
    if (auto a = peers.game(id)) {
      v.latest_version = a->latest_version;
      v.latest_peers = a->latest_peers;
      v.latest_size = a->size;
      v.peers_by_version = a->peers_by_version;
      v.available = !a->peers_by_version.empty();
      if (auto s = splits.find(id); s != splits.end() && s->second.version == a->latest_version)
        v.manifest_disagreement = s->second;
    }
    if (v.downloaded && !v.local_version.empty() && !v.latest_version.empty() &&
        library::natural_compare(v.latest_version, v.local_version) > 0) {
      v.update_available = true;
    }
    if (!v.local_version.empty() &&
        (v.latest_version.empty() ||
         library::natural_compare(v.local_version, v.latest_version) > 0)) {
      v.latest_version = v.local_version;  // this machine holds the newest copy
      v.latest_peers.clear();
      v.latest_size = v.local_size;
    }
    out.push_back(std::move(v));
  }
  return out;
}

proto::Sha256 snapshot_digest(const std::vector<GameView>& games, std::uint64_t local_revision) {
  // Length-prefixed fields, so no two different snapshots encode alike.
  std::string text;
  auto put = [&](std::string_view s) {
    text += std::to_string(s.size());
    text += ':';
    text += s;
  };
  auto num = [&](std::uint64_t n) { put(std::to_string(n)); };
  num(local_revision);
  for (const auto& v : games) {
    put(v.info.id);
    put(v.info.name);
    put(v.info.description);
    put(v.info.genre);
    num(v.info.max_players);
    num(v.downloaded | v.installed << 1 | v.update_available << 2 | v.available << 3);
    put(v.local_version);
    num(v.local_size);
    put(v.latest_version);
    num(v.latest_size);
    num(v.latest_peers.size());
    for (const auto& p : v.latest_peers) put(p);
    num(v.peers_by_version.size());
    for (const auto& [version, peers] : v.peers_by_version) {
      put(version);
      num(peers.size());
      for (const auto& p : peers) put(p);
    }
    num(v.manifest_disagreement.has_value());
    if (v.manifest_disagreement) {
      put(v.manifest_disagreement->version);
      num(v.manifest_disagreement->agreeing);
      num(v.manifest_disagreement->groups.size());
      for (auto n : v.manifest_disagreement->groups) num(n);
    }
  }
  return library::sha256({reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

std::optional<Refusal> check_download(std::string_view id, bool downloaded,
                                      const std::string& local_version,
                                      const std::optional<std::string>& peers_latest) {
  if (!downloaded || local_version.empty() || !peers_latest) return std::nullopt;
  const int order = library::natural_compare(local_version, *peers_latest);
  const std::string game = "'" + std::string(id) + "'";
  if (order == 0) {
    return Refusal{"up_to_date", game + " is already at the latest version the peers offer (" +
                                     local_version +
                                     "); to check its files against the peers, verify it"};
  }
  if (order > 0) {
    return Refusal{"newer_local_version", game + " has version " + local_version +
                                              " here, newer than the peers' " + *peers_latest +
                                              "; nothing to download"};
  }
  return std::nullopt;
}

std::optional<Refusal> check_verify(std::string_view id, bool downloaded,
                                    const std::string& local_version, bool offered) {
  const std::string game = "'" + std::string(id) + "'";
  if (!downloaded || local_version.empty())
    return Refusal{"not_downloaded", game + " is not downloaded; download it first"};
  if (!offered) {
    return Refusal{"no_sources", "no peer offers version " + local_version + " of " + game +
                                     " to check it against"};
  }
  return std::nullopt;
}

std::optional<std::string> peers_latest(const GameView& g) {
  std::optional<std::string> best;
  for (const auto& [version, holders] : g.peers_by_version) {
    if (holders.empty()) continue;
    if (!best || library::natural_compare(version, *best) > 0) best = version;
  }
  return best;
}

}  // namespace lanspread::runtime
