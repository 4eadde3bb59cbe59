// The library as a person sees it: every catalog game, with what this machine holds and
// what the network offers, so local-only titles show up too.
#pragma once

#include "library/catalog.hpp"
#include "library/scan.hpp"
#include "runtime/peer_game_db.hpp"

#include <string>
#include <vector>

namespace lanspread::runtime {

struct GameView {
  library::CatalogEntry info;
  // Local state.
  bool downloaded = false;
  bool installed = false;
  std::string local_version;
  std::uint64_t local_size = 0;
  // The network.
  std::string latest_version;  // over peers and this machine, natural order
  std::vector<std::string> latest_peers;
  std::uint64_t latest_size = 0;  // bytes of the latest version (as its holders report it)
  std::map<std::string, std::vector<std::string>> peers_by_version;
  bool update_available = false;  // downloaded here, and a peer has a newer version
  bool available = false;         // some peer can serve it (any version)
};

std::vector<GameView> merge_views(const library::Catalog& catalog,
                                  const library::LocalLibrary* local, const PeerGameDB& peers);

// A digest of everything a snapshot shows, to tell whether it changed.
proto::Sha256 snapshot_digest(const std::vector<GameView>& games, std::uint64_t local_revision);

}  // namespace lanspread::runtime
