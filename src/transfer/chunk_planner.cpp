#include "transfer/chunk_planner.hpp"

#include <algorithm>
#include <random>

namespace lanspread::transfer {

ChunkPlanner::ChunkPlanner(std::vector<std::uint64_t> sizes, const std::vector<SourceId>& sources,
                           PlannerConfig config)
    : config_(config) {
  chunks_.resize(sizes.size());
  queue_.reserve(sizes.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    chunks_[i].size = sizes[i];
    chunks_[i].queued = true;
    bytes_total_ += sizes[i];
    queue_.push_back(i);
  }
  if (config.seed != 0) std::shuffle(queue_.begin(), queue_.end(), std::mt19937_64(config.seed));
  partial_avail_.assign(sizes.size(), 0);
  for (const auto& s : sources) add_source(s);
  if (config_.slots == 0) config_.slots = 1;
  if (config_.max_copies == 0) config_.max_copies = 1;
  if (config_.swarm_full_slots == 0) config_.swarm_full_slots = 1;
  if (config_.swarm_partial_requests == 0) config_.swarm_partial_requests = 1;
}

void ChunkPlanner::add_source(const SourceId& source) {
  auto& s = sources_[source];
  count(s, -1);
  s.have.reset();
  s.dropped = false;
  s.failures = 0;
  s.backoff_until = {};
}

void ChunkPlanner::add_partial_source(const SourceId& source, std::vector<bool> have) {
  Source& s = sources_[source];
  count(s, -1);
  have.resize(chunks_.size());
  s.have = std::move(have);
  s.dropped = false;
  s.failures = 0;
  s.backoff_until = {};
  count(s, +1);
}

void ChunkPlanner::set_have(const SourceId& source, std::vector<bool> have) {
  auto it = sources_.find(source);
  if (it == sources_.end() || !it->second.have) return;
  Source& s = it->second;
  have.resize(chunks_.size());
  // Refreshed every half second whether or not anything changed: an unchanged set leaves the
  // counts, and the picks found empty since (`empty_at`), as they are; a changed one costs one
  // pass over what changed.
  if (have == *s.have) return;
  if (s.counted) {
    for (ChunkIndex c = 0; c < have.size(); ++c) {
      if (have[c] == (*s.have)[c]) continue;
      if (have[c]) {
        ++partial_avail_[c];
      } else {
        --partial_avail_[c];
      }
    }
    ++generation_;
  }
  s.have = std::move(have);
  if (!s.counted && !s.dropped) count(s, +1);
}

void ChunkPlanner::set_limits(const SourceId& source, std::size_t slots, std::size_t take) {
  auto it = sources_.find(source);
  if (it == sources_.end()) return;
  it->second.slots = slots;
  it->second.take = take;
}

bool ChunkPlanner::partial(const SourceId& source) const {
  auto it = sources_.find(source);
  return it != sources_.end() && it->second.have.has_value();
}

void ChunkPlanner::count(Source& s, int delta) {
  ++generation_;
  if (!s.have || s.counted == (delta > 0)) return;
  s.counted = delta > 0;
  for (ChunkIndex c = 0; c < s.have->size(); ++c) {
    if ((*s.have)[c]) partial_avail_[c] += static_cast<std::uint32_t>(delta);
  }
  partial_sources_ += static_cast<std::size_t>(delta);
}

std::vector<Cancellation> ChunkPlanner::remove_source(const SourceId& source) {
  std::vector<Cancellation> out;
  auto it = sources_.find(source);
  if (it == sources_.end()) return out;
  Source& s = it->second;
  for (ChunkIndex c : s.running) {
    out.push_back({source, c});
    chunks_[c].holders.erase(source);
    if (!chunks_[c].done && chunks_[c].holders.empty()) requeue(c);
  }
  s.running.clear();
  s.dropped = true;
  count(s, -1);
  return out;
}

void ChunkPlanner::withdraw(const SourceId& source, ChunkIndex chunk) {
  if (chunk >= chunks_.size()) return;
  auto it = sources_.find(source);
  if (it != sources_.end()) it->second.running.erase(chunk);
  Chunk& ch = chunks_[chunk];
  ch.holders.erase(source);
  if (!ch.done && ch.holders.empty()) requeue(chunk);
}

void ChunkPlanner::requeue(ChunkIndex c) {
  Chunk& ch = chunks_[c];
  if (ch.done || ch.queued) return;
  ++generation_;
  ch.queued = true;
  // Retries go first: they are usually the end of a file someone is waiting for.
  if (queue_head_ > 0) {
    queue_[--queue_head_] = c;
  } else {
    queue_.insert(queue_.begin(), c);
  }
  // Chunks taken from the middle (pick_rarest) and put back leave stale entries behind:
  // drop them before they outnumber the chunks (declined chunks come back often).
  if (queue_.size() - queue_head_ > 2 * chunks_.size() + 16) {
    std::vector<bool> seen(chunks_.size(), false);
    std::vector<ChunkIndex> live;
    for (std::size_t i = queue_head_; i < queue_.size(); ++i) {
      const ChunkIndex q = queue_[i];
      if (chunks_[q].queued && !chunks_[q].done && !seen[q]) {
        seen[q] = true;
        live.push_back(q);
      }
    }
    queue_ = std::move(live);
    queue_head_ = 0;
  }
}

std::optional<ChunkIndex> ChunkPlanner::pop_queue() {
  while (queue_head_ < queue_.size()) {
    const ChunkIndex c = queue_[queue_head_++];
    if (chunks_[c].queued && !chunks_[c].done) {
      chunks_[c].queued = false;
      return c;
    }
  }
  return std::nullopt;
}

std::optional<ChunkIndex> ChunkPlanner::endgame_pick(const SourceId& source,
                                                     const CopyFilter& filter) const {
  // The chunk running the longest that this source does not already hold.
  const Source& me = sources_.at(source);
  std::optional<ChunkIndex> best;
  Clock::time_point best_start = Clock::time_point::max();
  for (const auto& [id, s] : sources_) {
    if (id == source) continue;
    for (ChunkIndex c : s.running) {
      const Chunk& ch = chunks_[c];
      if (ch.done || ch.holders.size() >= config_.max_copies || ch.holders.contains(source) ||
          !has(me, c))
        continue;
      const auto start = ch.holders.begin()->second;
      if (start < best_start && (!filter || filter(c, source))) {
        best_start = start;
        best = c;
      }
    }
  }
  return best;
}

bool ChunkPlanner::queue_empty() {
  while (queue_head_ < queue_.size() && !chunks_[queue_[queue_head_]].queued) ++queue_head_;
  return queue_head_ == queue_.size();
}

std::optional<ChunkIndex> ChunkPlanner::pick_rarest(Source& s, Clock::time_point now) {
  if (s.empty_at == generation_ || queue_empty()) return std::nullopt;
  std::optional<std::size_t> best;  // position in the queue
  std::uint32_t best_avail = 0;
  // A full source: the position of the rarest chunk partial sources have, taken only when no
  // queued chunk is missing from every partial source.
  std::optional<std::size_t> shared;
  std::uint32_t shared_avail = 0;
  bool unique_left = false;
  for (std::size_t i = queue_head_; i < queue_.size(); ++i) {
    const ChunkIndex c = queue_[i];
    const Chunk& ch = chunks_[c];
    if (!ch.queued || ch.done || !has(s, c)) continue;
    const std::uint32_t avail = partial_avail_[c];
    if (const auto d = s.declined.find(c); d != s.declined.end() && d->second > now) {
      // it sends this chunk to another downloader now
      unique_left = unique_left || avail == 0;
      continue;
    }
    if (!s.have && avail > 0) {  // a partial source gives it: spare the seeder
      if (!shared || avail < shared_avail) {
        shared = i;
        shared_avail = avail;
      }
      continue;
    }
    if (!best || avail < best_avail) {
      best = i;
      best_avail = avail;
      if (avail == 0) break;  // nobody else has it: as rare as it gets
    }
  }
  // Every chunk still missing is somewhere among the partial sources (the seeders' unique
  // work is done): an idle full source helps with the rarest of them rather than idle.
  if (!best && !unique_left && shared) best = shared;
  if (!best) {
    s.empty_at = generation_;
    return std::nullopt;
  }
  const ChunkIndex c = queue_[*best];
  chunks_[c].queued = false;
  return c;
}

void ChunkPlanner::fill(Clock::time_point now, const CopyFilter& worth_copying, bool partial_phase,
                        std::vector<Assignment>& out) {
  // Fill one slot per source per round, so free slots are shared fairly.
  std::size_t partial_running = 0;
  if (partial_phase) {
    for (const auto& [id, s] : sources_) partial_running += s.have ? s.running.size() : 0;
  }
  // Rounds begin after the source that got the last request of this phase: with fewer
  // requests than sources (the partial budget), each source gets its turn, not only the
  // first ones in id order.
  SourceId& cursor = turn_[partial_phase ? 1 : 0];
  std::vector<std::pair<const SourceId, Source>*> order;
  order.reserve(sources_.size());
  const auto start = sources_.upper_bound(cursor);
  for (auto it = start; it != sources_.end(); ++it) order.push_back(&*it);
  for (auto it = sources_.begin(); it != start; ++it) order.push_back(&*it);
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto* entry : order) {
      const SourceId& id = entry->first;
      Source& s = entry->second;
      if (s.have.has_value() != partial_phase) continue;
      if (partial_phase && partial_running >= config_.swarm_partial_requests) return;
      std::size_t slots = !s.have && partial_sources_ > 0
                              ? std::min(config_.slots, config_.swarm_full_slots)
                              : config_.slots;
      if (s.slots != 0) slots = std::min(slots, s.slots);
      if (s.cap_until > now) slots = std::min(slots, s.slot_cap);
      if (s.dropped || s.backoff_until > now || s.paused_until > now || s.running.size() >= slots)
        continue;
      // Without partial sources every chunk is equally rare: the queue's order decides.
      std::optional<ChunkIndex> c;
      if (s.running.size() < s.take)
        c = partial_sources_ == 0 && !decline_ends_ ? pop_queue() : pick_rarest(s, now);
      bool duplicate = false;
      if (!c && queue_empty()) {  // end-game: only once every chunk is taken
        c = endgame_pick(id, worth_copying);
        duplicate = c.has_value();
      }
      if (!c) continue;
      chunks_[*c].holders.emplace(id, now);
      s.running.insert(*c);
      out.push_back({id, *c, duplicate});
      cursor = id;
      partial_running += partial_phase ? 1 : 0;
      progress = true;
    }
  }
}

std::vector<Assignment> ChunkPlanner::next(Clock::time_point now, const CopyFilter& worth_copying) {
  std::vector<Assignment> out;
  if (exhausted_chunk_) return out;
  if (decline_ends_ && *decline_ends_ <= now) {
    // A decline ran out: its chunk may be asked of full sources again.
    ++generation_;
    decline_ends_.reset();
    for (auto& [id, s] : sources_) {
      std::erase_if(s.declined, [&](const auto& d) { return d.second <= now; });
      for (const auto& [c, until] : s.declined)
        decline_ends_ = decline_ends_ ? std::min(*decline_ends_, until) : until;
    }
  }
  // Partial sources first: what they can give, the seeders need not.
  if (partial_sources_ > 0) fill(now, worth_copying, true, out);
  fill(now, worth_copying, false, out);
  return out;
}

std::vector<Cancellation> ChunkPlanner::completed(const SourceId& source, ChunkIndex chunk) {
  std::vector<Cancellation> losers;
  if (chunk >= chunks_.size()) return losers;
  Chunk& ch = chunks_[chunk];
  auto it = sources_.find(source);
  if (it != sources_.end()) {
    it->second.running.erase(chunk);
    it->second.failures = 0;
  }
  ch.holders.erase(source);
  if (ch.done) return losers;  // a late copy: already counted
  ch.done = true;
  ch.queued = false;
  ++done_count_;
  bytes_done_ += ch.size;
  if (it != sources_.end()) it->second.completed += ch.size;
  for (const auto& [other, start] : ch.holders) {
    losers.push_back({other, chunk});
    if (auto o = sources_.find(other); o != sources_.end()) o->second.running.erase(chunk);
  }
  ch.holders.clear();
  return losers;
}

std::vector<Cancellation> ChunkPlanner::failed(const SourceId& source, ChunkIndex chunk,
                                               FailureKind kind, Clock::time_point now) {
  std::vector<Cancellation> others;
  if (chunk >= chunks_.size()) return others;
  Chunk& ch = chunks_[chunk];
  auto it = sources_.find(source);
  if (it == sources_.end() || !ch.holders.contains(source)) return others;  // cancelled already
  Source& s = it->second;
  if (kind == FailureKind::declined) {
    decline(source, s, chunk, now);
    return others;
  }
  s.running.erase(chunk);
  ch.holders.erase(source);
  // Corrupt data is not bad luck: this source is not used again for this download. Other
  // failures count once per episode: requests that fail while the source is already backed
  // off (its other requests, hit by the same outage) add nothing.
  bool drop = kind == FailureKind::corrupt;
  if (!drop && s.backoff_until <= now) {
    drop = ++s.failures >= config_.max_failures;
    if (!drop) s.backoff_until = now + config_.backoff * (1 << (s.failures - 1));
  }
  if (drop) others = remove_source(source);
  if (!ch.done) {
    if (++ch.attempts >= config_.max_attempts) exhausted_chunk_ = true;
    if (ch.holders.empty()) requeue(chunk);
  }
  return others;
}

void ChunkPlanner::decline(const SourceId& source, Source& s, ChunkIndex c, Clock::time_point now) {
  Chunk& ch = chunks_[c];
  s.running.erase(c);
  ch.holders.erase(source);
  if (s.running.empty()) {
    s.paused_until = now + config_.spread_pause;
  } else {
    s.slot_cap = s.running.size();
    s.cap_until = now + config_.spread_retry;
  }
  if (!s.have) {
    const auto until = now + config_.spread_retry;
    s.declined[c] = until;
    decline_ends_ = decline_ends_ ? std::min(*decline_ends_, until) : until;
  }
  if (!ch.done && ch.holders.empty()) requeue(c);
}

bool ChunkPlanner::stuck() const {
  if (finished()) return false;
  if (exhausted_chunk_) return true;
  if (std::any_of(sources_.begin(), sources_.end(),
                  [](const auto& kv) { return !kv.second.dropped && !kv.second.have; }))
    return false;
  // Only partial sources: stuck when none has a chunk still missing and nothing runs.
  for (ChunkIndex c = 0; c < chunks_.size(); ++c) {
    const Chunk& ch = chunks_[c];
    if (!ch.done && (partial_avail_[c] > 0 || !ch.holders.empty())) return false;
  }
  return true;
}

std::size_t ChunkPlanner::active_sources() const {
  return static_cast<std::size_t>(std::count_if(
      sources_.begin(), sources_.end(), [](const auto& kv) { return !kv.second.running.empty(); }));
}

std::size_t ChunkPlanner::in_flight(const SourceId& source) const {
  auto it = sources_.find(source);
  return it == sources_.end() ? 0 : it->second.running.size();
}

std::uint64_t ChunkPlanner::completed_by(const SourceId& source) const {
  auto it = sources_.find(source);
  return it == sources_.end() ? 0 : it->second.completed;
}

bool ChunkPlanner::usable(const SourceId& source) const {
  auto it = sources_.find(source);
  return it != sources_.end() && !it->second.dropped;
}

std::vector<SourceId> ChunkPlanner::usable_sources(bool full_only) const {
  std::vector<std::pair<std::uint64_t, SourceId>> ranked;
  for (const auto& [id, s] : sources_)
    if (!s.dropped && !(full_only && s.have)) ranked.emplace_back(s.completed, id);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<SourceId> out;
  for (auto& r : ranked) out.push_back(std::move(r.second));
  return out;
}

}  // namespace lanspread::transfer
