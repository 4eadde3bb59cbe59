// Swarming, the requesting side: asking a peer that downloads the same version which chunks it
// holds verified (GetChunkMap), and turning its bitmap into the session's terms. A question
// is bounded in time; its answer is checked against the manifest this peer holds.
#include "runtime/chunk_map_requests.hpp"

#include "runtime/download_state.hpp"
#include "runtime/peer_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace lanspread::runtime {
namespace asio = boost::asio;
using asio::awaitable;
using transfer::Clock;

awaitable<std::optional<transfer::ChunkBitmap>> ask_chunk_map(
    std::shared_ptr<transport::Connection> conn, const std::string& game,
    const proto::Game& manifest, const proto::Sha256& digest, std::chrono::milliseconds timeout) {
  auto answer = co_await request(std::move(conn),
                                 proto::GetChunkMap{game, manifest.version, digest}, timeout);
  // An Error (an older peer that does not know the request, or one that no longer downloads
  // this version) is no map.
  if (!answer) co_return std::nullopt;
  const auto* map = std::get_if<proto::ChunkMap>(&*answer);
  if (map == nullptr) co_return std::nullopt;
  // The length must be that of the manifest we hold (request() checked id, version, digest).
  const transfer::ChunkNumbering numbering(manifest);
  if (map->chunks != numbering.total()) co_return std::nullopt;
  co_return transfer::ChunkBitmap::from_bytes(map->bitmap, map->chunks);
}

transfer::ChunkHave Download::State::have_of(const transfer::ChunkBitmap& map) const {
  // A piece is there when each of its chunks is.
  transfer::ChunkHave have(pieces.size(), false);
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    bool all = true;
    for (std::size_t c = pieces[i].first; all && c < pieces[i].first + pieces[i].count; ++c)
      all = map.test(global_of[c]);
    have[i] = all;
  }
  return have;
}

void Download::State::refresh_have(const transfer::RefreshHave& a) {
  // Not counted in `busy`: the download does not wait for a question to end (the session
  // ignores late answers), and the question ends by its own deadline.
  asio::co_spawn(
      job.net,
      [st = shared_from_this(), source = a.source]() -> awaitable<void> {
        std::optional<transfer::ChunkBitmap> map;
        if (auto conn = co_await st->job.connect(source)) {
          map = co_await ask_chunk_map(*conn, st->job.id, st->job.manifest, st->job.digest,
                                       st->job.settings.silence_timeout);
        }
        if (map) {
          st->session.have_received(source, st->have_of(*map), Clock::now());
        } else {
          st->session.have_failed(source, Clock::now());
        }
        st->flush();
      },
      asio::detached);
}

}  // namespace lanspread::runtime
