#include "runtime/game_server.hpp"

#include "library/hasher.hpp"
#include "proto/codec.hpp"
#include "proto/frame.hpp"
#include "proto/layout.hpp"
#include "proto/limits.hpp"
#include "proto/validate.hpp"
#include "sys/open_beneath.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <memory>
#include <optional>

namespace lanspread::runtime {
namespace {

using asio::awaitable;
using asio::use_awaitable;

// Application error code for streams the server resets (bad framing, timeout, IO failure).
constexpr std::uint64_t kResetBadRequest = 0x20;

proto::Error error(proto::WireErrorCode code, std::string message) {
  // A message naming a path may run past what a client accepts: cut at a character's start.
  if (message.size() > proto::kMaxMessageLength) {
    std::size_t cut = proto::kMaxMessageLength;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;
    message.resize(cut);
  }
  return proto::Error{code, std::move(message)};
}

awaitable<bool> send_response(transport::Stream& s, const proto::Response& r) {
  auto frame = proto::frame_response(r);
  if (!frame) co_return false;
  auto w = co_await s.write({reinterpret_cast<const std::uint8_t*>(frame->data()), frame->size()});
  co_return static_cast<bool>(w);
}

// Reads one request frame. Returns nullopt (and resets the stream) on bad framing.
awaitable<std::optional<std::string>> read_request(transport::Stream& s) {
  proto::FrameDecoder decoder(proto::kMaxRequestFrame);
  std::uint8_t buf[4096];
  for (;;) {
    auto n = co_await s.read_some(buf);
    if (!n || *n == 0) co_return std::nullopt;  // reset, closed, cancelled or ended early
    auto used = decoder.feed(std::span<const std::uint8_t>(buf, *n));
    if (!used) co_return std::nullopt;  // oversize frame
    if (decoder.complete()) co_return decoder.take_payload();
  }
}

}  // namespace

namespace {
// The spread ledger's name for one chunk: game, the version (or manifest digest, for a version
// being downloaded here), path and range, so no chunk stands for another.
std::string spread_key_of(const proto::GetGameFileChunk& r, const std::string& version) {
  return r.game_id + '\0' + version + '\0' + r.path + '\0' + std::to_string(r.offset) + '\0' +
         std::to_string(r.length);
}
// A batch of whole files by the digest of its paths (at most 64 KiB of them; a chunk's key
// never reads "files").
std::string spread_key_of(const proto::GetGameFiles& r, const std::string& version) {
  std::string paths;
  for (const auto& p : r.paths) (paths += p) += '\0';
  const auto digest =
      library::sha256({reinterpret_cast<const std::uint8_t*>(paths.data()), paths.size()});
  return r.game_id + '\0' + version + "\0files\0" + digest.hex() + '\0' + std::to_string(r.length);
}
}  // namespace

GameServer::GameServer(GameServerConfig config, asio::any_io_executor net,
                       asio::any_io_executor disk, LibraryProvider library,
                       RevisionProvider revision)
    : config_(std::move(config)),
      net_(std::move(net)),
      disk_(std::move(disk)),
      library_(std::move(library)),
      revision_(std::move(revision)),
      spread_(config_.spread),
      files_(config_.max_open_files, config_.max_open_files_per_connection) {}

awaitable<void> GameServer::serve(std::shared_ptr<transport::Connection> conn) {
  auto self = shared_from_this();
  for (;;) {
    auto s = co_await conn->accept_stream();
    if (!s) co_return;
    asio::co_spawn(net_, handle(std::move(*s), conn.get(), conn->peer_id()), asio::detached);
  }
}

awaitable<void> GameServer::handle(transport::Stream stream, const void* owner,
                                   std::string client) {
  using namespace asio::experimental::awaitable_operators;
  auto self = shared_from_this();
  ++stats_.requests;

  asio::steady_timer deadline(net_, config_.request_timeout);
  auto first = co_await (read_request(stream) ||
                         deadline.async_wait(asio::redirect_error(use_awaitable, ignored_)));
  if (first.index() != 0 || !std::get<0>(first)) {
    ++stats_.refused;
    stream.reset(kResetBadRequest);
    co_return;
  }
  auto request = proto::decode_request(*std::get<0>(first));
  if (!request) {
    ++stats_.refused;
    co_await send_response(stream, error(proto::WireErrorCode::bad_request,
                                         "request refused: " + request.error().message()));
    (void)stream.finish();
    co_return;
  }

  const auto lib = library_();
  const library::LocalGame* game = nullptr;
  const proto::GameFileDescription* file = nullptr;
  auto find_game = [&](const std::string& id) {
    game = lib ? lib->find(id) : nullptr;
    return game != nullptr && game->manifest.has_value();
  };

  std::optional<proto::Response> answer;
  std::shared_ptr<const PartialGame> partial;  // keeps the files alive while they are sent
  std::filesystem::path partial_root;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::vector<Segment> segments;          // what the answer carries: GetGameFiles' files, in order
  std::optional<std::string> spread_key;  // a spread chunk request that passed every check
  bool spread_distinct = false;           // of the downloaded version: spread distinct chunks
  std::visit(
      [&](const auto& r) {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, proto::Ping>) {
          answer = proto::Pong{config_.peer_id, revision_()};
        } else if constexpr (std::is_same_v<T, proto::ListGames>) {
          answer = proto::Games{with_partials(
              lib ? lib->summaries() : std::vector<proto::GameSummary>{}, partials())};
        } else if constexpr (std::is_same_v<T, proto::GetChunkMap>) {
          const auto p = find_partial(partials(), r.game_id, r.digest);
          if (p && p->manifest->version == r.version) {
            answer = p->chunk_map();
            if (map_asked_ && !p->complete && !client.empty()) map_asked_(client, *p);
          } else {
            answer = error(proto::WireErrorCode::not_found,
                           "no download of '" + r.game_id + "' " + r.version + " here");
          }
        } else if constexpr (std::is_same_v<T, proto::GetGameFiles>) {
          // Whole files of one chunk each, of the downloaded version or (by digest) of the
          // version downloaded here, held verified; their sizes in all must be `length`.
          const proto::Game* manifest = nullptr;
          if (r.digest) {
            partial = find_partial(partials(), r.game_id, *r.digest);
            if (partial) manifest = partial->manifest.get();
          } else if (find_game(r.game_id)) {
            manifest = &*game->manifest;
          }
          if (manifest == nullptr) {
            answer = error(proto::WireErrorCode::not_found,
                           "no " + std::string(r.digest ? "download of '" : "downloaded game '") +
                               r.game_id + "' here");
            return;
          }
          std::uint64_t total = 0;  // at most 256 files of at most 64 MiB: no overflow
          segments.reserve(r.paths.size());
          for (const auto& path : r.paths) {
            std::filesystem::path root;
            const proto::GameFileDescription* f = nullptr;
            if (partial) {
              f = partial->servable_whole(path, root);
            } else {
              f = lookup(lib, *game, path);
              root = game->root;
            }
            if (f == nullptr || f->is_dir || f->chunk_hashes.size() != 1) {
              answer = error(proto::WireErrorCode::not_found,
                             "no " + std::string(partial ? "verified " : "") +
                                 "file of one chunk '" + path + "' in '" + r.game_id + "' here");
              return;
            }
            total += f->size;
            segments.push_back({std::move(root), f, 0, f->size});
          }
          if (total != r.length || total > manifest->chunk_size) {
            answer = error(proto::WireErrorCode::bad_request,
                           "the files hold " + std::to_string(total) + " bytes, not " +
                               std::to_string(r.length) + ", or more than one chunk");
            return;
          }
          if (r.spread) {
            spread_key = spread_key_of(r, partial ? r.digest->hex() : manifest->version);
            spread_distinct = !partial;
          }
        } else if constexpr (std::is_same_v<T, proto::GetGame>) {
          if (find_game(r.id)) {
            answer = *game->manifest;
          } else {
            answer =
                error(proto::WireErrorCode::not_found, "no downloaded game '" + r.id + "' here");
          }
        } else {
          if constexpr (std::is_same_v<T, proto::GetGameFileChunk>) {
            if (r.digest) {  // a chunk of the version with this manifest, verified here
              partial = find_partial(partials(), r.game_id, *r.digest);
              file =
                  partial ? partial->servable(r.path, r.offset, r.length, partial_root) : nullptr;
              if (file == nullptr) {
                answer = error(proto::WireErrorCode::not_found,
                               "no verified chunk of '" + r.path + "' at " +
                                   std::to_string(r.offset) + " here");
              }
              offset = r.offset;
              length = r.length;
              if (r.spread && file != nullptr) spread_key = spread_key_of(r, r.digest->hex());
              return;
            }
          }
          if (!find_game(r.game_id)) {
            answer = error(proto::WireErrorCode::not_found,
                           "no downloaded game '" + r.game_id + "' here");
            return;
          }
          file = lookup(lib, *game, r.path);
          if (file == nullptr || file->is_dir) {
            answer = error(proto::WireErrorCode::not_found,
                           "no file '" + r.path + "' in '" + r.game_id + "'");
            return;
          }
          if constexpr (std::is_same_v<T, proto::GetGameFileChunk>) {
            if (!proto::validate_range(r.offset, r.length, file->size)) {
              answer =
                  error(proto::WireErrorCode::bad_request, "range outside of '" + r.path + "'");
              return;
            }
            offset = r.offset;
            length = r.length;
            if (r.spread) {
              // The downloaded version's chunk: another key than the same range of a version
              // this peer downloads (named by its digest above).
              spread_key = spread_key_of(r, game->manifest->version);
              spread_distinct = true;
            }
          } else {
            if (file->size > config_.max_whole_file) {
              answer = error(proto::WireErrorCode::bad_request,
                             "'" + r.path + "' is too large for one request; ask for chunks");
              return;
            }
            length = file->size;
          }
        }
      },
      *request);

  transfer::SpreadLedger::Ticket ticket = 0;
  if (!answer && spread_key) {
    switch (spread_.admit(*spread_key, client, std::chrono::steady_clock::now(), ticket,
                          spread_distinct)) {
      case transfer::SpreadLedger::Verdict::serve:
        break;
      case transfer::SpreadLedger::Verdict::duplicate:
        answer = error(proto::WireErrorCode::busy,
                       "this chunk is being sent to another downloader; ask it of them");
        break;
      case transfer::SpreadLedger::Verdict::full:
        answer = error(proto::WireErrorCode::busy, "sending as many chunks as it can at once");
        break;
    }
  }
  if (answer) {
    if (std::holds_alternative<proto::Error>(*answer)) ++stats_.refused;
    co_await send_response(stream, *answer);
    (void)stream.finish();
    co_return;
  }
  // A chunk or a whole file: one segment.
  if (segments.empty())
    segments.push_back({partial ? partial_root : game->root, file, offset, length});
  if (ticket == 0) {
    co_await send_files(stream, owner, client, segments);
    co_return;
  }
  // The upload counts until it ends, however it ends (a cancelled coroutine included).
  struct Counted {
    transfer::SpreadLedger& ledger;
    transfer::SpreadLedger::Ticket ticket;
    bool whole = false;
    ~Counted() { ledger.finished(ticket, whole, std::chrono::steady_clock::now()); }
  } counted{spread_, ticket};
  counted.whole = co_await send_files(stream, owner, client, segments);
}

std::vector<std::shared_ptr<const PartialGame>> GameServer::partials() const {
  return partial_ ? partial_() : std::vector<std::shared_ptr<const PartialGame>>{};
}

std::shared_ptr<const PartialGame> GameServer::find_partial(
    const std::vector<std::shared_ptr<const PartialGame>>& all, const std::string& id,
    const proto::Sha256& digest) {
  for (const auto& p : all)
    if (p->id == id && p->digest == digest) return p;
  return nullptr;
}

std::vector<proto::GameSummary> GameServer::with_partials(
    std::vector<proto::GameSummary> games,
    const std::vector<std::shared_ptr<const PartialGame>>& all) {
  for (const auto& p : all) {
    if (p->complete) continue;
    auto it =
        std::find_if(games.begin(), games.end(), [&](const auto& g) { return g.id == p->id; });
    if (it == games.end())
      it = games.insert(games.end(), proto::GameSummary{p->id, "", 0, false, false, {}});
    it->partial_version = p->manifest->version;
  }
  return games;
}

const proto::GameFileDescription* GameServer::lookup(
    const std::shared_ptr<const library::LocalLibrary>& lib, const library::LocalGame& game,
    const std::string& path) {
  if (index_snapshot_ != lib) {
    index_.clear();
    index_snapshot_ = lib;  // keeps alive the snapshot the index points into
  }
  auto& map = index_[&game];
  if (map.empty()) {
    for (const auto& f : game.manifest->files) map.emplace(f.path, &f);
  }
  auto it = map.find(path);
  return it == map.end() ? nullptr : it->second;
}

awaitable<int> GameServer::take_file(const void* owner, const std::string& key,
                                     std::filesystem::path root, std::string rel,
                                     std::uint64_t expected_size) {
  const auto deadline = std::chrono::steady_clock::now() + config_.open_file_wait;
  asio::steady_timer retry(net_);
  for (;;) {
    int fd = -1;
    switch (files_.take(owner, key, &fd)) {
      case OpenFileCache::Take::hit:
        co_return fd;
      case OpenFileCache::Take::open_it: {
        // Open on the disk pool: even an open can block on a slow or sleeping disk.
        const int raw = co_await asio::co_spawn(
            disk_,
            [root, rel, expected_size]() -> awaitable<int> {
              // Beneath the root without following any link, even one planted after the scan.
              auto opened = sys::open_regular_beneath(root, rel);
              if (!opened) co_return -1;
              struct stat st {};
              if (::fstat(opened->get(), &st) != 0 ||
                  static_cast<std::uint64_t>(st.st_size) != expected_size) {
                co_return -2;
              }
              co_return opened->release();
            },
            use_awaitable);
        files_.opened(owner, key, sys::UniqueFd(raw < 0 ? -1 : raw));
        co_return raw;
      }
      case OpenFileCache::Take::wait:
        break;
    }
    if (std::chrono::steady_clock::now() >= deadline) co_return -3;
    // Files are released when other requests end; look again shortly.
    retry.expires_after(std::chrono::milliseconds(20));
    co_await retry.async_wait(asio::redirect_error(use_awaitable, ignored_));
  }
}

awaitable<bool> GameServer::send_files(transport::Stream& stream, const void* owner,
                                       const std::string& client,
                                       const std::vector<Segment>& segments) {
  std::uint64_t total = 0;
  for (const auto& seg : segments) total += seg.length;
  const auto want = [&](std::uint64_t left) {
    return static_cast<std::size_t>(std::min<std::uint64_t>(config_.read_block, left));
  };
  // A client's file answers go out one after another: each arrives whole as early as it can,
  // and one still waiting can be asked of another peer without crossing the network twice.
  stream.set_sequential();
  // Nothing is opened or read before the stream has room to send it.
  auto room = co_await stream.reserve(std::max<std::size_t>(want(segments.front().length), 64));
  if (!room) co_return false;
  for (std::size_t i = 0; i < segments.size(); ++i) {
    const Segment& seg = segments[i];
    const std::string& rel = seg.file->path;
    const std::string key = seg.root.string() + '\0' + rel + '\0' + std::to_string(seg.file->size);
    const int fd = co_await take_file(owner, key, seg.root, rel, seg.file->size);
    if (fd < 0) {
      ++stats_.refused;
      if (i > 0) {
        // The header went out already: the client must not take a short answer.
        stream.reset(kResetBadRequest);
        co_return false;
      }
      const auto code = fd == -2 ? proto::WireErrorCode::not_found : proto::WireErrorCode::internal;
      co_await send_response(stream,
                             error(code, fd == -2   ? "'" + rel + "' changed since the last scan"
                                         : fd == -3 ? "too many files open; try again"
                                                    : "cannot open '" + rel + "'"));
      (void)stream.finish();
      co_return false;
    }
    struct Release {
      OpenFileCache& files;
      const void* owner;
      const std::string& key;
      ~Release() { files.put(owner, key); }
    } release{files_, owner, key};
    if (i == 0 && !co_await send_response(stream, proto::FileData{total})) co_return false;

    std::uint64_t done = 0;
    while (done < seg.length) {
      // Read only as much as the stream may queue now (waits for room, with the transport's
      // send-stall deadline), so unsent bytes never pile up here.
      room = co_await stream.reserve(want(seg.length - done));
      if (!room) co_return false;
      // Allocated per read and freed once queued: a stream waiting for room holds no buffer.
      const std::size_t size = *room;
      const auto block = std::make_unique_for_overwrite<std::uint8_t[]>(size);
      const std::uint64_t at = seg.offset + done;
      const ssize_t n = co_await asio::co_spawn(
          disk_,
          [fd, data = block.get(), size, at]() -> awaitable<ssize_t> {
            ssize_t r;
            do {
              r = ::pread(fd, data, size, static_cast<off_t>(at));
            } while (r < 0 && errno == EINTR);
            co_return r;
          },
          use_awaitable);
      if (n <= 0) {
        // The file shrank or failed under us: the client must not take a short answer.
        stream.reset(kResetBadRequest);
        co_return false;
      }
      if (!co_await stream.write({block.get(), static_cast<std::size_t>(n)})) co_return false;
      done += static_cast<std::uint64_t>(n);
      stats_.bytes_sent += static_cast<std::uint64_t>(n);
      if (config_.traffic) {
        config_.traffic->add_sent(client, static_cast<std::uint64_t>(n),
                                  TrafficMeter::Clock::now());
      }
    }
  }
  (void)stream.finish();
  co_return true;
}

}  // namespace lanspread::runtime
