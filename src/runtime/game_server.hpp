// Serves this peer's games over QUIC (docs/protocol.md): one request per stream, answered
// from the latest library snapshot. File bytes are read on the worker pool only once the
// stream has send room reserved for them (the transport's send budget paces the reads), so
// a reader that does not read costs no more than its stream's buffer. Files are opened only
// then too, through a bounded cache of open files. Only files listed in a
// downloaded game's manifest are served, opened component by component without following
// symlinks. Hostile or broken clients get an Error frame or a reset stream; the server
// keeps running.
#pragma once

#include "library/scan.hpp"
#include "runtime/open_file_cache.hpp"
#include "runtime/partial_game.hpp"
#include "runtime/traffic_meter.hpp"
#include "transfer/spread_ledger.hpp"
#include "transport/endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string_view>
#include <unordered_map>

namespace lanspread::runtime {

namespace asio = boost::asio;

struct ServerStats {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> refused{0};  // answered with an Error or reset
  std::atomic<std::uint64_t> bytes_sent{0};
};

struct GameServerConfig {
  std::string peer_id;
  // How long a client may take to send its request before the stream is reset.
  std::chrono::milliseconds request_timeout{10'000};
  // Most bytes read from a file at once (and held before they are queued to send).
  std::size_t read_block = 256 << 10;
  // Open files of served games, in total and used by one connection at once; a request
  // waits this long for one, then is answered with an error.
  std::size_t max_open_files = 256;
  std::size_t max_open_files_per_connection = 16;
  std::chrono::milliseconds open_file_wait{10'000};
  // Whole files above this size must be fetched in chunks.
  std::uint64_t max_whole_file = 64ULL << 20;
  // Counts the payload bytes sent to each client (null: not counted).
  std::shared_ptr<TrafficMeter> traffic;
  // Chunk requests marked `spread` (swarming): see spread_ledger.hpp.
  transfer::SpreadLimits spread;
};

class GameServer : public std::enable_shared_from_this<GameServer> {
 public:
  using LibraryProvider = std::function<std::shared_ptr<const library::LocalLibrary>()>;
  using RevisionProvider = std::function<std::uint64_t()>;
  // The versions this peer is downloading (and recently completed ones), for swarming.
  using PartialProvider = std::function<std::vector<std::shared_ptr<const PartialGame>>()>;

  // `net` is the network thread's executor; `disk` runs blocking file reads.
  GameServer(GameServerConfig config, asio::any_io_executor net, asio::any_io_executor disk,
             LibraryProvider library, RevisionProvider revision);

  // Accepts streams of `conn` until it closes, handling each in its own coroutine.
  asio::awaitable<void> serve(std::shared_ptr<transport::Connection> conn);
  // Handles one request stream; `owner` (its connection) shares the open-file budget;
  // `client` is the peer's id (empty if unknown), for its transfer rates.
  asio::awaitable<void> handle(transport::Stream stream, const void* owner = nullptr,
                               std::string client = {});

  const ServerStats& stats() const { return stats_; }
  // Call before serving. Without a provider no partial version is offered.
  void set_partial_games(PartialProvider provider) { partial_ = std::move(provider); }
  // Called (on the network thread) when `client` was sent the chunk map of a version this
  // peer downloads: the client downloads it too, so it may have chunks to offer back.
  using MapAsked = std::function<void(const std::string& client, const PartialGame&)>;
  void on_map_asked(MapAsked callback) { map_asked_ = std::move(callback); }

 private:
  const proto::GameFileDescription* lookup(const std::shared_ptr<const library::LocalLibrary>& lib,
                                           const library::LocalGame& game, const std::string& path);
  std::vector<std::shared_ptr<const PartialGame>> partials() const;
  static std::shared_ptr<const PartialGame> find_partial(
      const std::vector<std::shared_ptr<const PartialGame>>& all, const std::string& id,
      const proto::Sha256& digest);
  // The library's summaries, each game being downloaded marked with its partial_version.
  static std::vector<proto::GameSummary> with_partials(
      std::vector<proto::GameSummary> games,
      const std::vector<std::shared_ptr<const PartialGame>>& all);
  // A range of a served file, from the directory it lives under.
  struct Segment {
    std::filesystem::path root;
    const proto::GameFileDescription* file = nullptr;
    std::uint64_t offset = 0;
    std::uint64_t length = 0;
  };
  // One FileData answer carrying the segments one after another (a chunk, a whole file, or
  // the files of a GetGameFiles). True when every byte was queued to the stream. A file that
  // cannot be opened is answered with an Error when it is the first, else the stream is reset.
  asio::awaitable<bool> send_files(transport::Stream& stream, const void* owner,
                                   const std::string& client, const std::vector<Segment>& segments);
  // A descriptor of the file from the cache (opened on the disk pool if needed), -1 if it
  // cannot be opened, -2 if it changed since the scan, -3 if none was free in time.
  asio::awaitable<int> take_file(const void* owner, const std::string& key,
                                 std::filesystem::path root, std::string rel,
                                 std::uint64_t expected_size);

  GameServerConfig config_;
  asio::any_io_executor net_;
  asio::any_io_executor disk_;
  LibraryProvider library_;
  RevisionProvider revision_;
  PartialProvider partial_;
  MapAsked map_asked_;
  transfer::SpreadLedger spread_;
  ServerStats stats_;
  OpenFileCache files_;
  boost::system::error_code ignored_;
  // Path lookup per game of the current library snapshot (manifests can be large).
  std::shared_ptr<const library::LocalLibrary> index_snapshot_;
  std::unordered_map<const library::LocalGame*,
                     std::unordered_map<std::string_view, const proto::GameFileDescription*>>
      index_;
};

}  // namespace lanspread::runtime
