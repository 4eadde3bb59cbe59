#include "transfer/chunk_planner.hpp"

#include <algorithm>

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
  for (const auto& s : sources) add_source(s);
  if (config_.slots == 0) config_.slots = 1;
  if (config_.max_copies == 0) config_.max_copies = 1;
}

void ChunkPlanner::add_source(const SourceId& source) {
  auto& s = sources_[source];
  s.dropped = false;
  s.failures = 0;
  s.backoff_until = {};
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
  return out;
}

void ChunkPlanner::requeue(ChunkIndex c) {
  Chunk& ch = chunks_[c];
  if (ch.done || ch.queued) return;
  ch.queued = true;
  // Retries go first: they are usually the end of a file someone is waiting for.
  if (queue_head_ > 0) {
    queue_[--queue_head_] = c;
  } else {
    queue_.insert(queue_.begin(), c);
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
  std::optional<ChunkIndex> best;
  Clock::time_point best_start = Clock::time_point::max();
  for (const auto& [id, s] : sources_) {
    if (id == source) continue;
    for (ChunkIndex c : s.running) {
      const Chunk& ch = chunks_[c];
      if (ch.done || ch.holders.size() >= config_.max_copies || ch.holders.contains(source))
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

std::vector<Assignment> ChunkPlanner::next(Clock::time_point now, const CopyFilter& worth_copying) {
  std::vector<Assignment> out;
  if (exhausted_chunk_) return out;
  // Fill one slot per source per round, so free slots are shared fairly.
  bool progress = true;
  while (progress) {
    progress = false;
    for (auto& [id, s] : sources_) {
      if (s.dropped || s.backoff_until > now || s.running.size() >= config_.slots) continue;
      std::optional<ChunkIndex> c = pop_queue();
      bool duplicate = false;
      if (!c) {
        c = endgame_pick(id, worth_copying);
        duplicate = c.has_value();
      }
      if (!c) continue;
      chunks_[*c].holders.emplace(id, now);
      s.running.insert(*c);
      out.push_back({id, *c, duplicate});
      progress = true;
    }
  }
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

bool ChunkPlanner::stuck() const {
  if (finished()) return false;
  if (exhausted_chunk_) return true;
  return std::none_of(sources_.begin(), sources_.end(),
                      [](const auto& kv) { return !kv.second.dropped; });
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

std::vector<SourceId> ChunkPlanner::usable_sources() const {
  std::vector<std::pair<std::uint64_t, SourceId>> ranked;
  for (const auto& [id, s] : sources_)
    if (!s.dropped) ranked.emplace_back(s.completed, id);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<SourceId> out;
  for (auto& r : ranked) out.push_back(std::move(r.second));
  return out;
}

}  // namespace lanspread::transfer
