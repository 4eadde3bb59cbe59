// One download (the reference's steps 3-7), the IO shell around transfer::DownloadSession:
// the session decides, this carries out its actions. It prepares the files and checks what
// is already right on disk (resume, delta) on the disk pool, fetches chunks over QUIC (one
// stream per chunk, bytes written at their offset through a bounded cache of open files and
// hashed on the disk pool), seals verified chunks, fetches version.ini and commits it last.
// Where a complete version is on disk the download is an update: the files that change are
// built in the root's staging area (transfer/update_staging.hpp) and swapped in at the commit
// (transfer/update_commit.hpp), so the old version stays whole until then; otherwise the files
// are written in place.
// Requests are stopped through Asio cancellation, so a cancel or a silence deadline takes
// effect at once even when a peer sends nothing.
//
// Network thread only (the disk work is posted to the disk pool).
#pragma once

#include "proto/messages.hpp"
#include "runtime/partial_game.hpp"
#include "runtime/traffic_meter.hpp"
#include "transfer/chunk_map.hpp"
#include "transfer/download_progress.hpp"
#include "transfer/download_settings.hpp"
#include "transfer/error.hpp"
#include "transport/endpoint.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace lanspread::runtime {

struct DownloadReport {
  std::uint64_t fetched = 0;  // bytes that crossed the network
  std::uint64_t reused = 0;   // bytes already right on disk
};

struct DownloadJob {
  std::string id;
  proto::Game manifest;
  proto::Sha256 digest;  // manifest_digest(manifest): how partial sources name it
  std::vector<std::string> sources;
  std::filesystem::path root;
  boost::asio::any_io_executor net;
  boost::asio::any_io_executor disk;
  std::function<boost::asio::awaitable<
      boost::system::result<std::shared_ptr<transport::Connection>>>(std::string peer)>
      connect;
  // At least 4 times a second while the download runs (network thread).
  std::function<void(const transfer::DownloadProgress&)> progress;
  std::stop_token stop;
  transfer::DownloadSettings settings;
  // Network thread, just before an update's staged files are swapped in: the old version's
  // files are about to change, so the runtime stops serving them.
  std::function<void()> before_swap;
  // Counts the payload bytes received from each source (null: not counted).
  std::shared_ptr<TrafficMeter> traffic;
  // Network thread, when what the download serves to others appears (after the local check):
  // the runtime tells its peers (swarming).
  std::function<void()> offer_changed;
};

struct DownloadOutcome {
  boost::system::error_code error;  // none: downloaded and committed
  std::string reason;               // what failed, for the user (empty on success)
  DownloadReport report;
};

class Download {
 public:
  explicit Download(DownloadJob job);
  ~Download();
  Download(const Download&) = delete;
  Download& operator=(const Download&) = delete;

  // Runs the download to its end. An update that fails or is cancelled leaves the old version
  // exactly as it was and keeps its staged work for the next attempt. A download without an old
  // version sweeps its temp sentinel files; on cancellation it deletes its payload files too
  // (local/ and the install intent log stay), as the reference does.
  boost::asio::awaitable<DownloadOutcome> run();

  // A peer started or stopped offering this download's version (its manifest checked).
  void source_joined(const std::string& peer);
  void source_left(const std::string& peer);
  // A source answered again (a ping, a game list): taken back if it was dropped for failing
  // and its back-off is over.
  void source_answered(const std::string& peer);
  // A peer that downloads the same version with the same manifest (swarming): a source of the
  // chunks set in `have` (the manifest's numbering), refreshed while chunks are fetched. A
  // partial source that joins again as full (source_joined) has finished.
  void partial_source_joined(const std::string& peer, const transfer::ChunkBitmap& have);
  bool has_partial_source(const std::string& peer) const;
  // What this download serves to others: its verified chunks. Null before the local check,
  // after the download ended, and while an update's files are swapped in.
  std::shared_ptr<const PartialGame> partial() const;
  const proto::Game& manifest() const;
  const proto::Sha256& digest() const;
  bool has_source(const std::string& peer) const;

  struct State;

 private:
  std::shared_ptr<State> st_;
};

}  // namespace lanspread::runtime
