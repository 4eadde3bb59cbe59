// PeerRuntime's side of swarming: offering the running downloads' verified chunks to peers
// that download the same version, finding those peers, and letting go of them.
#include "runtime/peer_runtime_impl.hpp"

#include "runtime/chunk_map_requests.hpp"

namespace lanspread::runtime {

void PeerRuntime::offer_to_downloads(const std::string& peer) {
  for (const auto& [game, download] : downloads_) {
    const auto& manifest = download->manifest();
    const auto holders = peers_.peers_with(game, manifest.version);
    const bool offers = std::find(holders.begin(), holders.end(), peer) != holders.end();
    if (!offers) {
      const auto partial = peers_.partial_peers(game, manifest.version);
      if (std::find(partial.begin(), partial.end(), peer) != partial.end()) {
        // Downloading the same version: a source of what it holds, if its manifest is ours.
        if (!download->has_source(peer)) offer_partial(peer, game, download);
        continue;
      }
      download->source_left(peer);  // it moved on to another version, or dropped the game
      continue;
    }
    // A partial source that now holds the whole version becomes a full one.
    if (download->has_source(peer) && !download->has_partial_source(peer)) {
      download->source_answered(peer);
      continue;
    }
    // Same version is not enough: it must serve exactly the files being fetched.
    asio::co_spawn(
        io_,
        [self = shared_from_this(), peer, game = game,
         weak = std::weak_ptr<Download>(download)]() -> awaitable<void> {
          auto conn = co_await self->connect(peer);
          if (!conn) co_return;
          auto answer =
              co_await request(*conn, proto::GetGame{game}, self->config_.request_timeout);
          auto running = weak.lock();
          if (!running || !answer) co_return;
          if (const auto* g = std::get_if<proto::Game>(&*answer); g && *g == running->manifest())
            running->source_joined(peer);
        },
        asio::detached);
  }
}

void PeerRuntime::probe_partials(const std::string& game) {
  auto it = downloads_.find(game);
  if (it == downloads_.end()) return;
  const auto download = it->second;
  const auto holders = peers_.peers_with(game, download->manifest().version);
  std::size_t asked = 0;
  for (const PeerInfo* p : peers_.peers()) {
    if (asked >= config_.limits.max_partial_probes) break;
    if (download->has_source(p->peer_id) ||
        std::find(holders.begin(), holders.end(), p->peer_id) != holders.end())
      continue;
    offer_partial(p->peer_id, game, download);
    ++asked;
  }
}

void PeerRuntime::asked_for_map(const std::string& peer, const PartialGame& offer) {
  auto it = downloads_.find(offer.id);
  if (it == downloads_.end() || it->second->digest() != offer.digest) return;
  // Only verified peers are sources; one that is not yet is found by its game list.
  if (peers_.peer(peer) == nullptr || it->second->has_source(peer)) return;
  offer_partial(peer, offer.id, it->second);
}

void PeerRuntime::offer_partial(const std::string& peer, const std::string& game,
                                std::shared_ptr<Download> download) {
  if (!offering_.emplace(game, peer).second) return;  // asked already, answer pending
  asio::co_spawn(
      io_,
      [self = shared_from_this(), peer, game,
       weak = std::weak_ptr<Download>(download)]() -> awaitable<void> {
        struct Done {
          PeerRuntime& rt;
          std::pair<std::string, std::string> key;
          ~Done() { rt.offering_.erase(key); }
        } done{*self, {game, peer}};
        auto conn = co_await self->connect(peer);
        auto running = weak.lock();
        if (!conn || !running) co_return;
        // The map is asked by our manifest's digest: a peer downloading other files of the
        // same version answers not_found and is not a source.
        const proto::Game manifest = running->manifest();
        const proto::Sha256 digest = running->digest();
        running.reset();
        auto map =
            co_await ask_chunk_map(*conn, game, manifest, digest, self->config_.request_timeout);
        running = weak.lock();
        if (running && map) running->partial_source_joined(peer, *map);
      },
      asio::detached);
}

std::vector<std::shared_ptr<const PartialGame>> PeerRuntime::partial_games() const {
  std::vector<std::shared_ptr<const PartialGame>> out;
  for (const auto& [id, d] : downloads_)
    if (auto p = d->partial()) out.push_back(std::move(p));
  const auto lib = monitor_ ? monitor_->snapshot() : nullptr;
  for (const auto& [id, p] : completed_) {
    // Only while the library still holds exactly that version.
    const library::LocalGame* g = lib ? lib->find(id) : nullptr;
    if (g != nullptr && g->downloaded && g->version == p->manifest->version) out.push_back(p);
  }
  return out;
}

void PeerRuntime::announce_partial_change() {
  monitor_->bump_revision();
  if (discovery_) discovery_->update_rev(monitor_->revision());
}

void PeerRuntime::withdraw_from_downloads(const std::string& peer) {
  for (const auto& [game, download] : downloads_) download->source_left(peer);
}

}  // namespace lanspread::runtime
