// Internal to download_task.cpp and download_requests.cpp: the state a Download shares with
// the coroutines and disk jobs it starts. Network thread, except where a comment says a
// field is read on the disk pool.
#pragma once

#include "runtime/download_task.hpp"

#include "transfer/download_session.hpp"
#include "transfer/file_cache.hpp"
#include "transfer/pieces.hpp"
#include "transfer/sentinel_transaction.hpp"
#include "transfer/update_staging.hpp"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>

namespace lanspread::runtime {

using transfer::ChunkRef;

// Serialises the writers of one piece on the disk pool. Once the piece is sealed, late
// writes (a cancelled end-game copy, a request that stalled and woke up) are dropped, so a
// verified chunk's bytes on disk stay the verified ones.
struct ChunkGuard {
  std::mutex mutex;
  bool sealed = false;
};

struct Download::State : std::enable_shared_from_this<Download::State> {
  explicit State(DownloadJob j);

  // Carries out what the session asks for. Call after every event fed to the session.
  void flush();
  // Wakes the run loop (a request ended, the session ended).
  void notify() { wake.cancel(); }

  // download_requests.cpp: the coroutines behind FetchChunk / FetchSentinel, the SealChunk job.
  void start_chunk(const transfer::FetchChunk& a);
  void start_sentinel(const transfer::FetchSentinel& a);
  void seal(const transfer::SealChunk& a);
  // chunk_map_requests.cpp: RefreshHave, and a partial source's bitmap in the session's terms.
  void refresh_have(const transfer::RefreshHave& a);
  // download_task.cpp: after the local check, what is served to others (`missing`: the chunks
  // still to fetch; everything else but version.ini is verified on disk).
  void offer_verified(const std::vector<ChunkRef>& missing);
  transfer::ChunkHave have_of(const transfer::ChunkBitmap& map) const;

  DownloadJob job;
  transfer::DownloadSession session;
  boost::asio::steady_timer wake;
  std::set<std::string> sources;          // offered to the session so far (and not left)
  std::set<std::string> partial_sources;  // of those, the partial ones (swarming)
  // Served to other peers once the local check is done (network thread only); reset when
  // the download ends or an update's files are about to move.
  std::shared_ptr<PartialGame> partial;
  std::vector<std::uint64_t> global_of;  // per entry of `chunks`: its manifest-wide number
  // Sources that do not know GetGameFiles (older peers): asked for one file at a time.
  std::set<std::string> single_files;

  // Set once the local check is done, then only read (also on the disk pool). The session
  // numbers pieces; each piece is a run of `chunks`.
  std::vector<ChunkRef> chunks;
  std::vector<transfer::Piece> pieces;
  std::vector<std::unique_ptr<ChunkGuard>> guards;  // per piece
  std::shared_ptr<transfer::FileCache> files;
  std::optional<transfer::SentinelTransaction> sentinel;  // a download written in place
  std::optional<transfer::StagingArea> staging;           // an update: chunks go there
  std::vector<bool> staged;                               // per manifest file (an update)

  std::atomic<bool> stop_disk{false};  // read by the local check on the disk pool
  // A running request's cancellation. The signal is emitted only once its coroutine runs
  // (an Asio coroutine cancelled before its first step would throw from its entry point);
  // a cancel that comes earlier waits in `cancel_pending` and the coroutine ends at once.
  struct Request {
    boost::asio::cancellation_signal signal;
    bool started = false;
    bool cancel_pending = false;
  };
  std::map<transfer::RequestId, std::unique_ptr<Request>> requests;
  std::size_t busy = 0;  // coroutines and disk jobs not yet ended
  std::string sentinel_content;
  std::optional<transfer::Fail> failure;
  bool finished = false;
  boost::system::error_code local_error;  // the first error of our own side
  bool flushing = false;
};

}  // namespace lanspread::runtime
