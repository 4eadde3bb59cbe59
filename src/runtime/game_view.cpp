#include "runtime/game_view.hpp"

#include "library/version.hpp"

namespace lanspread::runtime {

std::vector<GameView> merge_views(const library::Catalog& catalog,
                                  const library::LocalLibrary* local, const PeerGameDB& peers) {
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

}  // namespace lanspread::runtime
