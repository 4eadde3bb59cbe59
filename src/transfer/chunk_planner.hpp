// Which peer fetches which chunk, when: pure data, no IO, no clock of its own (the caller
// passes the time). Adaptive, not round-robin:
//  - a shared queue of chunks; each source keeps up to `slots` chunk requests in flight and
//    takes the next chunk when one completes, so a faster peer does more of the work; the
//    caller may lower a source's slots and stop it taking new chunks (set_limits) from the
//    speed it measured, so a slow source does not end up holding the last chunks;
//  - a failed request (an error, a refusal, silence) puts its chunk back in the queue; the
//    source is backed off, and dropped after repeated failures (requests failing while it is
//    backed off belong to the same episode and count once); a source that sent corrupt data
//    is dropped at once. Deciding that a request failed (e.g. that it has been silent too
//    long) is the caller's job: the planner has no notion of slowness;
//  - end-game: when the queue is empty, idle slots duplicate the chunks in flight the longest
//    (at most `max_copies` holders each); the first copy to complete wins and the others are
//    cancelled;
//  - swarming: a source is full (it has every chunk) or partial (another downloader of the
//    same version, which has the chunks of its have-set and is asked for nothing else).
//    Partial sources pick first, the rarest chunk they have (the fewest partial holders),
//    taking turns: each round begins after the source that got the last request, so a
//    budget smaller than the number of sources (`swarm_partial_requests`) reaches them all
//    (full sources take turns among themselves the same way);
//    a full source then takes only chunks no usable partial source has, rarest first, so the
//    original seeders' uplink goes to chunks nobody else can give. Ties go to the queue's
//    order, which `PlannerConfig::seed` shuffles, so downloaders start on different chunks.
//    A source may decline a chunk (it sends it to another downloader, or as many as it will
//    at once): nothing counts as a failure. A full source is not asked for a chunk it
//    declined for `spread_retry`; the source gets no more requests than it still runs
//    for us for `spread_retry`, none at all for `spread_pause` when it runs none.
#pragma once

#include "transfer/download_settings.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lanspread::transfer {

using Clock = std::chrono::steady_clock;
using SourceId = std::string;
using ChunkIndex = std::size_t;  // position in the planner's chunk list

struct Assignment {
  SourceId source;
  ChunkIndex chunk;
  bool duplicate = false;  // an end-game copy of a chunk another source is fetching
};

struct Cancellation {
  SourceId source;
  ChunkIndex chunk;
};

enum class FailureKind {
  error,     // the request failed (connection, stream, protocol)
  refused,   // the peer answered with an Error message
  silent,    // no byte arrived for too long
  corrupt,   // the bytes did not match the manifest's hash
  declined,  // a full source said `busy` to a spread request: not now, ask another chunk
};

class ChunkPlanner {
 public:
  // `sizes[i]` is the byte size of chunk i.
  ChunkPlanner(std::vector<std::uint64_t> sizes, const std::vector<SourceId>& sources,
               PlannerConfig config = {});

  // Whether an end-game copy of `chunk` by the idle `source` is worth starting.
  using CopyFilter = std::function<bool(ChunkIndex chunk, const SourceId& source)>;

  // Requests to start now, for every source with a free slot (call after every event).
  // End-game copies are offered only where `worth_copying` agrees (all, without it).
  std::vector<Assignment> next(Clock::time_point now, const CopyFilter& worth_copying = {});
  // `source` delivered `chunk` verified. Returns the other holders to cancel (end-game).
  std::vector<Cancellation> completed(const SourceId& source, ChunkIndex chunk);
  // The request failed. The chunk goes back to the queue (unless another copy runs). When
  // this drops the source, its other requests are returned so the caller cancels them.
  std::vector<Cancellation> failed(const SourceId& source, ChunkIndex chunk, FailureKind kind,
                                   Clock::time_point now);

  // A full source: it has every chunk. An existing partial source becomes full.
  void add_source(const SourceId& source);
  // A partial source (joining, or taken back) with the chunks set in `have` (the planner's
  // numbering; missing entries count as absent).
  void add_partial_source(const SourceId& source, std::vector<bool> have);
  // A partial source's refreshed have-set. Ignored for a full or unknown source; a dropped
  // source stays dropped.
  void set_have(const SourceId& source, std::vector<bool> have);
  bool partial(const SourceId& source) const;
  // Limits the caller sets on a source from the speed it measured (multi-source scheduling):
  // at most `slots` requests in flight (0: the configured slots), and new chunks (not
  // end-game copies) taken only while fewer than `take` run. Until set: no limit of its own.
  void set_limits(const SourceId& source, std::size_t slots, std::size_t take);
  // Usable partial sources (swarming).
  std::size_t partial_sources() const { return partial_sources_; }
  // The caller cancels `source`'s request for `chunk` for no fault of the source (another
  // source took the chunk over before it began): no failure counts; the chunk goes back to
  // the queue unless another copy runs.
  void withdraw(const SourceId& source, ChunkIndex chunk);
  // A source went away: its requests return to the queue; returned so the caller cancels them.
  std::vector<Cancellation> remove_source(const SourceId& source);

  bool finished() const { return done_count_ == chunks_.size(); }
  bool done(ChunkIndex c) const { return c < chunks_.size() && chunks_[c].done; }
  std::size_t chunk_count() const { return chunks_.size(); }
  std::size_t done_count() const { return done_count_; }
  // True when chunks remain but nobody can fetch them: no usable source, or a chunk failed
  // too often (`exhausted()`).
  bool stuck() const;
  bool exhausted() const { return exhausted_chunk_; }

  std::uint64_t bytes_done() const { return bytes_done_; }
  std::uint64_t chunk_size(ChunkIndex c) const { return chunks_[c].size; }
  std::uint64_t bytes_total() const { return bytes_total_; }
  // Sources with at least one request in flight.
  std::size_t active_sources() const;
  std::size_t in_flight(const SourceId& source) const;
  std::uint64_t completed_by(const SourceId& source) const;
  bool usable(const SourceId& source) const;
  // Sources not dropped, the ones that delivered most first (`full_only`: no partial ones).
  std::vector<SourceId> usable_sources(bool full_only = false) const;
  // Usable partial sources that have `chunk`.
  std::size_t partial_holders(ChunkIndex chunk) const { return partial_avail_[chunk]; }

 private:
  struct Chunk {
    std::uint64_t size = 0;
    bool done = false;
    bool queued = false;
    int attempts = 0;
    std::map<SourceId, Clock::time_point> holders;  // source -> request start
  };
  struct Source {
    std::set<ChunkIndex> running;
    int failures = 0;  // consecutive
    Clock::time_point backoff_until{};
    Clock::time_point paused_until{};  // after it declined a chunk with nothing running
    // After it declined a chunk while it sent others: no more requests than then, until.
    std::size_t slot_cap = 0;
    Clock::time_point cap_until{};
    // A full source: chunks it declined, not asked of it again before the time (at most one
    // entry per chunk; expired ones are dropped in next()).
    std::map<ChunkIndex, Clock::time_point> declined;
    bool dropped = false;
    std::uint64_t completed = 0;
    std::optional<std::vector<bool>> have;  // none: a full source
    bool counted = false;                   // its have-set is in partial_avail_
    // pick_rarest found nothing for it at this generation_: nothing to find until it moves.
    std::uint64_t empty_at = 0;
    std::size_t slots = 0;        // set_limits; 0: the configured slots
    std::size_t take = SIZE_MAX;  // set_limits: new chunks only below this many
  };
  static bool has(const Source& s, ChunkIndex c) {
    return !s.have || (c < s.have->size() && (*s.have)[c]);
  }
  // Adds (+1) or removes (-1) a partial source's have-set from the availability counts.
  void count(Source& s, int delta);
  void requeue(ChunkIndex c);
  std::optional<ChunkIndex> pop_queue();
  // No chunk waits in the queue (skips what was taken from the front).
  bool queue_empty();
  // The rarest queued chunk `s` has; a full source skips chunks a partial source has.
  std::optional<ChunkIndex> pick_rarest(Source& s, Clock::time_point now);
  void fill(Clock::time_point now, const CopyFilter& worth_copying, bool partial_phase,
            std::vector<Assignment>& out);
  std::optional<ChunkIndex> endgame_pick(const SourceId& source, const CopyFilter& filter) const;

  PlannerConfig config_;
  std::vector<Chunk> chunks_;
  std::vector<ChunkIndex> queue_;  // LIFO of requeued on top of FIFO order: see pop_queue
  std::size_t queue_head_ = 0;
  std::map<SourceId, Source> sources_;
  std::vector<std::uint32_t> partial_avail_;  // per chunk: usable partial sources that have it
  std::size_t partial_sources_ = 0;           // usable partial sources
  // Per phase (full, partial): the source that got the phase's last request; the next round
  // begins after it.
  std::array<SourceId, 2> turn_;
  // Moves on whenever a source could find a chunk it could not before (a chunk back in the
  // queue, a have-set changed, a source added or dropped); starts at 1.
  std::uint64_t generation_ = 1;
  std::size_t done_count_ = 0;
  std::uint64_t bytes_done_ = 0;
  std::uint64_t bytes_total_ = 0;
  bool exhausted_chunk_ = false;  // some chunk failed max_attempts times
  // The earliest end of a chunk's decline still running (none: no decline runs).
  std::optional<Clock::time_point> decline_ends_;
  void decline(const SourceId& source, Source& s, ChunkIndex c, Clock::time_point now);
};

}  // namespace lanspread::transfer
