// The library as a person sees it: every catalog game, with what this machine holds and
// what the network offers, so local-only titles show up too.
#pragma once

#include "library/catalog.hpp"
#include "library/scan.hpp"
#include "runtime/peer_game_db.hpp"

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace lanspread::runtime {

// Peers that offer the same version with different files: what the last manifest vote on that
// version found (the runtime downloads from the chosen group only).
struct ManifestSplit {
  std::string version;
  std::vector<std::size_t> groups;  // peers per distinct manifest, the chosen group first
  std::size_t agreeing = 0;         // peers in the chosen group
  std::size_t dissenting = 0;       // peers outside it
};

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
  // Set while the last vote on the peers' latest version found them split.
  std::optional<ManifestSplit> manifest_disagreement;
};

// Why a download or a verify cannot start, for the API (409 with `code`) and the runtime
// (OperationRefused): one check for both.
struct Refusal {
  std::string code;  // "up_to_date", "newer_local_version", "not_downloaded", "no_sources"
  std::string message;
};
// A download (or update) fetches the peers' latest version: refused when the downloaded
// version here is that one or newer. `peers_latest`: the newest version a peer offers.
std::optional<Refusal> check_download(std::string_view id, bool downloaded,
                                      const std::string& local_version,
                                      const std::optional<std::string>& peers_latest);
// A verify needs the game downloaded here and a peer that offers the same version.
std::optional<Refusal> check_verify(std::string_view id, bool downloaded,
                                    const std::string& local_version, bool offered);
// The newest version in the view's peers_by_version (latest_version may be this machine's).
std::optional<std::string> peers_latest(const GameView& g);

// `splits`: by game id, the last manifest vote that found peers split (shown while its version
// is the peers' latest).
std::vector<GameView> merge_views(const library::Catalog& catalog,
                                  const library::LocalLibrary* local, const PeerGameDB& peers,
                                  const std::map<std::string, ManifestSplit>& splits = {});

// A digest of everything a snapshot shows, to tell whether it changed.
proto::Sha256 snapshot_digest(const std::vector<GameView>& games, std::uint64_t local_revision);

}  // namespace lanspread::runtime
