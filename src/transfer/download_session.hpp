// The decisions of one download, as a sans-IO state machine. Events go in (the local check's
// progress and result, bytes received, a request done or failed, a chunk sealed, sources
// joining and leaving, cancel, tick); actions come out (fetch a chunk or version.ini from a
// source, cancel a request, seal a chunk, report progress, fail, finish). It owns no socket,
// file or clock: the caller passes the time, carries out the actions and reports back, so a
// whole download runs in virtual time in a test.
//
// Several full sources of different speeds: each source's speed is measured; a source keeps
// requests in flight in proportion to its speed and takes a new chunk only when it would
// finish it about when the whole download would end, so the last chunks go to the fast ones;
// an idle source copies a chunk that another would finish later than it (end-game), and the
// first copy to arrive wins. A chunk that arrives twice is sealed and counted once.
//
// Phases: checking (the caller hashes what is on disk) -> downloading (chunks, planned by
// the ChunkPlanner) -> committing (version.ini from one source; then Finish, after which the
// caller syncs and commits). Sources are live: the caller reports sources that join (same
// version, same manifest) and leave, and sources that answer again after they were dropped for
// failing (taken back after a back-off, `readmit_after` doubling; never one that sent corrupt
// data). With no usable source left the session enters waiting_for_peers (reported) and waits
// `peer_wait` for one to join or come back, then goes on where it was, or fails with what the
// sources did. Every request has a progress deadline: no byte from its source for
// `silence_timeout` (a source may send our requests one after another: while it sends one,
// the others wait without a byte) and it fails, its source is penalised and backed off
// (dropped after repeated failures) and its chunk goes to the others. Nothing else counts as a
// stall.
//
// Swarming: a source is full (it has the whole version) or partial (another downloader of the
// same version and manifest, with a have-set of the chunks it holds verified). A partial source
// is asked only for chunks of its have-set, which the session has refreshed (RefreshHave) every
// `have_refresh` while chunks are being fetched, one question at a time per source. A partial
// source that leaves costs a re-plan of its chunks; one that finishes joins again as full.
// version.ini comes from full sources only.
//
// After Fail or Finish the session is over: it ignores further events. Fail is preceded by a
// CancelRequest for every request still running; the caller must wait for those, and for
// the seals it started, before it cleans up.
//
// Single-threaded: call it from one thread (the network thread).
#pragma once

#include "transfer/chunk_planner.hpp"
#include "transfer/download_progress.hpp"
#include "transfer/download_settings.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace lanspread::transfer {

using RequestId = std::uint64_t;

// ---- actions ----
struct FetchChunk {
  RequestId id;
  SourceId source;
  ChunkIndex chunk;
  bool duplicate = false;  // an end-game copy
};
struct FetchSentinel {
  RequestId id;
  SourceId source;
};
// Stop the request now (its later events are ignored).
struct CancelRequest {
  RequestId id;
};
// The chunk's bytes arrived and matched: mark it final on disk, so late writers (a cancelled
// end-game copy, a request that stalled and woke) cannot touch it. `recheck`: more than one
// request ever wrote into it, so hash what is on disk before it counts.
struct SealChunk {
  RequestId id;
  ChunkIndex chunk;
  bool recheck = false;
};
// Ask a partial source which chunks it has now; answer with have_received or have_failed.
struct RefreshHave {
  SourceId source;
};
struct ReportProgress {
  DownloadProgress progress;
};
enum class FailCause {
  cancelled,  // on request
  peers,      // no source could deliver
  local,      // our side (disk, files): reported through local_error
};
struct Fail {
  FailCause cause;
  std::string reason;  // names the real cause and the game
};
// Every chunk is verified and version.ini arrived: sync and commit.
struct Finish {};

using DownloadAction = std::variant<FetchChunk, FetchSentinel, CancelRequest, SealChunk,
                                    RefreshHave, ReportProgress, Fail, Finish>;

// Which chunks a partial source holds verified, in the session's numbering (the caller's
// chunk list of checked()); missing entries count as absent.
using ChunkHave = std::vector<bool>;

class DownloadSession {
 public:
  // `version`: the version being fetched, for the failure reasons.
  DownloadSession(std::string game, std::string version, std::vector<SourceId> sources,
                  DownloadSettings settings, Clock::time_point now);

  // ---- checking ----
  void check_progress(std::uint64_t done, std::uint64_t total, Clock::time_point now);
  // The local check is over: `sizes[i]` is the size of chunk i still to fetch (the caller's
  // numbering), `reused` the bytes already right on disk.
  void checked(std::vector<std::uint64_t> sizes, std::uint64_t reused, Clock::time_point now);

  // ---- requests ----
  // `n` bytes of a request arrived (0: an answer header, which also shows the peer is alive).
  void bytes_received(RequestId id, std::uint64_t n, Clock::time_point now);
  // A chunk request received all its bytes and they matched its hash; a version.ini request
  // received the whole file and it matched.
  void request_done(RequestId id, Clock::time_point now);
  // `detail` says what happened, for the failure reason.
  void request_failed(RequestId id, FailureKind kind, std::string detail, Clock::time_point now);
  // The answer to SealChunk: `intact` is false when the recheck found other bytes on disk.
  void chunk_sealed(RequestId id, bool intact, Clock::time_point now);

  // ---- the world ----
  // Our side failed (disk, files): fail at once; retrying elsewhere cannot help.
  void local_error(std::string reason, Clock::time_point now);
  // A peer now offers the version with the same manifest: it is a source (again).
  void source_joined(const SourceId& source, Clock::time_point now);
  // `have`: none for a full source; else a partial one with those chunks (before checked()
  // the caller cannot number chunks yet: pass an empty set, a RefreshHave follows at once).
  // A known partial source that joins as full becomes full.
  void source_joined(const SourceId& source, std::optional<ChunkHave> have, Clock::time_point now);
  // The answer to RefreshHave.
  void have_received(const SourceId& source, ChunkHave have, Clock::time_point now);
  // RefreshHave got no usable answer: the last have-set stays; asked again later.
  void have_failed(const SourceId& source, Clock::time_point now);
  // A source no longer offers the version (it left, or moved on): it is not asked again
  // until it joins anew.
  void source_left(const SourceId& source, Clock::time_point now);
  // A source answered the caller (a ping, a game list): if it was dropped for failing, its
  // back-off is over and it never sent corrupt data, it is taken back. Returns true when it
  // was taken back.
  bool source_answered(const SourceId& source, Clock::time_point now);
  // Whether the source was dropped for failing (a candidate for source_answered).
  bool source_dropped(const SourceId& source) const;
  // Whether requests to this source may be marked `spread` (so it may decline them): not
  // once it has declined for the silence timeout without delivering a byte.
  bool may_decline(const SourceId& source) const { return !plain_.contains(source); }
  void cancel(Clock::time_point now);
  void tick(Clock::time_point now);

  std::vector<DownloadAction> take_actions() { return std::exchange(actions_, {}); }
  // When tick() is due next (a progress report, a request's silence deadline).
  Clock::time_point next_deadline() const;
  bool ended() const { return ended_; }
  DownloadPhase phase() const { return phase_; }
  // Bytes that crossed the network (all of them, also those later thrown away).
  std::uint64_t network_bytes() const { return meter_.total(); }
  std::uint64_t reused_bytes() const { return reused_; }
  // For tests and diagnostics.
  const ChunkPlanner* planner() const { return planner_ ? &*planner_ : nullptr; }
  std::size_t running_requests() const { return requests_.size(); }
  // End-game copies that moved a request still waiting for its turn (nothing sent twice).
  std::size_t moved_requests() const { return moved_; }

 private:
  struct Request {
    SourceId source;
    std::optional<ChunkIndex> chunk;  // none: version.ini
    Clock::time_point started;
    Clock::time_point last_byte;
    std::uint64_t bytes = 0;
    bool sealing = false;          // all bytes in; SealChunk issued (or follows another's)
    bool follower = false;         // a copy that arrived while another copy was sealed
    Clock::time_point received{};  // when the last byte came (sealing)
  };
  void pump(Clock::time_point now);
  void refresh_haves(Clock::time_point now);
  // Whether a source can be asked; with none, enters waiting_for_peers (and fails once it
  // has lasted `peer_wait`); with one again, goes back to the phase it left.
  bool can_ask(bool no_source, Clock::time_point now);
  RequestId start(SourceId source, std::optional<ChunkIndex> chunk, Clock::time_point now);
  void cancel_requests(const std::vector<Cancellation>& cancels);
  void end(FailCause cause, std::string reason);
  std::string peers_failure() const;
  void blame(const SourceId& source, FailureKind kind, const std::string& detail);
  void report(Clock::time_point now);
  bool worth_copying(ChunkIndex chunk, const SourceId& idle, Clock::time_point now) const;
  // Multi-source scheduling: measures each source's speed and sets its limits in the planner.
  void measure(Clock::time_point now);
  void set_limits();
  // Bytes still to come of a source's running chunk requests.
  double left_of(const SourceId& source) const;
  // Whether the request waits for its turn: nothing of it came yet, while the source sends
  // another of our requests (a source sends its answers to us one after another).
  bool waiting(const Request& r) const;
  // When the request's source last sent anything, or the request's own last byte if later.
  Clock::time_point heard(const Request& r) const;
  // `idle` was given an end-game copy of `chunk`: a holder's request that still waits for its
  // turn is cancelled, so the chunk moves instead of crossing the network twice.
  void withdraw_waiting(ChunkIndex chunk, const SourceId& idle);
  DownloadProgress progress(Clock::time_point now);

  std::string game_;
  std::string version_;
  DownloadSettings settings_;
  std::vector<SourceId> sources_;  // until the planner exists
  DownloadPhase phase_ = DownloadPhase::checking;
  std::optional<ChunkPlanner> planner_;
  std::vector<std::uint8_t> writers_;  // per chunk: requests ever started (saturates at 2)
  std::map<RequestId, Request> requests_;
  RequestId next_id_ = 1;
  std::size_t moved_ = 0;
  std::uint64_t reused_ = 0;
  std::uint64_t check_done_ = 0;
  std::uint64_t check_total_ = 0;
  RateMeter meter_;
  Clock::time_point downloading_since_{};
  Clock::time_point last_byte_{};  // any request, any source
  // Sources declining spread requests since, without a byte delivered; and those that now
  // get plain requests (both bounded by the sources).
  std::map<SourceId, Clock::time_point> declining_since_;
  std::set<SourceId> plain_;
  Clock::time_point last_report_{};
  std::optional<Clock::time_point> orphaned_since_;          // no usable source since
  DownloadPhase resume_phase_ = DownloadPhase::downloading;  // left for waiting_for_peers
  // Sources dropped for failing: when they may be taken back, and how often they were.
  std::map<SourceId, Clock::time_point> readmit_at_;
  std::map<SourceId, int> drops_;
  // Per source: what it last did wrong, for the failure reason ("stopped sending", ...).
  std::map<SourceId, std::pair<FailureKind, std::string>> blame_;
  std::set<SourceId> left_;
  // Per source: when it last sent us anything (a byte or an answer header), for any request.
  std::map<SourceId, Clock::time_point> source_byte_;
  // Per source: bytes per second of one request, from its delivered chunks (moving average).
  std::map<SourceId, double> request_rate_;
  // Per source: its speed (bytes per second, all its requests together; 0 until measured),
  // from windows of `rate_window` while it has requests running. One entry per source known.
  struct Flow {
    double rate = 0;
    std::optional<Clock::time_point> since;  // the window being measured
    std::uint64_t bytes = 0;                 // received in that window
    // The last whole window: its speed alone, and when it began.
    double window_rate = 0;
    Clock::time_point window_start{};
    std::optional<Clock::time_point> idle_since;  // no chunk request running since
  };
  std::map<SourceId, Flow> flow_;
  std::uint64_t chunk_size_ = 0;  // the largest chunk
  // Partial sources: when their have-set is asked for next, and whether a question runs.
  struct Partial {
    Clock::time_point next{};
    bool asking = false;
  };
  std::map<SourceId, Partial> partial_;
  std::set<SourceId> sentinel_tried_;
  std::string sentinel_error_;
  std::string last_chunk_error_;
  bool ended_ = false;
  std::vector<DownloadAction> actions_;
};

}  // namespace lanspread::transfer
