// The download session's speed plan: each full source's measured speed, the requests each
// may hold and the chunks each may take so that all finish together, and whether an idle
// source should copy a running chunk in the end-game. Part of DownloadSession (sans-IO, no
// clock but the `now` it is given); the rest is in download_session.cpp.
#include "transfer/download_session.hpp"

#include <algorithm>
#include <cmath>

namespace lanspread::transfer {

void DownloadSession::measure(Clock::time_point now) {
  std::set<SourceId> busy;
  for (const auto& [id, r] : requests_)
    if (r.chunk && !r.sealing) busy.insert(r.source);
  for (auto it = flow_.begin(); it != flow_.end();) {
    // Idle: the window is dropped (a gap is not slowness); a source gone is forgotten.
    if (!busy.contains(it->first)) {
      it->second.since.reset();
      if (!it->second.idle_since) it->second.idle_since = now;
      if (!planner_->usable(it->first) && it->second.rate == 0) {
        it = flow_.erase(it);
        continue;
      }
    }
    ++it;
  }
  for (const auto& source : busy) {
    Flow& f = flow_[source];
    f.idle_since.reset();
    if (!f.since) {
      f.since = now;
      f.bytes = 0;
      continue;
    }
    if (now - *f.since < settings_.rate_window || now == *f.since) continue;
    const double rate =
        static_cast<double>(f.bytes) / std::chrono::duration<double>(now - *f.since).count();
    f.rate = f.rate > 0 ? 0.5 * f.rate + 0.5 * rate : rate;
    f.window_rate = rate;
    f.window_start = *f.since;
    f.since = now;
    f.bytes = 0;
  }
}

double DownloadSession::left_of(const SourceId& source) const {
  double left = 0;
  for (const auto& [id, r] : requests_) {
    if (r.source != source || !r.chunk || r.sealing) continue;
    const auto size = planner_->chunk_size(*r.chunk);
    left += static_cast<double>(size - std::min(size, r.bytes));
  }
  return left;
}

void DownloadSession::set_limits() {
  const auto sources = planner_->usable_sources(true);
  // Swarming plans by rarity and its own slots: left as it is.
  if (planner_->partial_sources() > 0) {
    for (const auto& s : sources) planner_->set_limits(s, 0, SIZE_MAX);
    return;
  }
  // Chunks not started yet (each running chunk once, whatever copies run).
  std::set<ChunkIndex> running;
  for (const auto& [id, r] : requests_)
    if (r.chunk && !planner_->done(*r.chunk)) running.insert(*r.chunk);
  const std::size_t open = planner_->chunk_count() - planner_->done_count();
  const std::size_t waiting = open > running.size() ? open - running.size() : 0;
  const double chunk = static_cast<double>(chunk_size_);
  // Who would fetch the waiting chunks if each went, in turn, to the source that would have it
  // soonest (at its speed, after what it has running): for chunks of one size on sources of
  // fixed speeds this ends the download soonest. A source takes new chunks only up to its
  // share.
  struct Plan {
    SourceId id;
    double rate;
    double busy;  // seconds of work it holds (running, then planned)
    std::size_t share = 0;
    std::size_t slots;  // requests in flight at most
  };
  std::vector<Plan> plans;
  for (const auto& s : sources) {
    auto f = flow_.find(s);
    if (f == flow_.end() || f->second.rate <= 0 || chunk <= 0) {
      planner_->set_limits(s, 0, SIZE_MAX);  // not measured yet: the configured slots
      continue;
    }
    const double rate = f->second.rate;
    const double horizon = std::chrono::duration<double>(settings_.in_flight_horizon).count();
    const std::size_t most = std::max<std::size_t>(settings_.planner.slots, 1);
    const auto slots =
        std::clamp<std::size_t>(static_cast<std::size_t>(std::ceil(rate * horizon / chunk)) + 1,
                                std::min<std::size_t>(2, most), most);
    plans.push_back({s, rate, left_of(s) / rate, 0, slots});
  }
  // The greedy plan gives the waiting chunks to the `waiting` soonest finish times among all
  // sources' next chunks (busy + j * chunk / rate, j = 1, 2, ...): found by bisecting that
  // time, so the cost does not grow with the game or the spread of speeds.
  if (!plans.empty() && waiting > 0) {
    const double w = static_cast<double>(waiting);
    auto count = [&](double t, Plan& p) {
      return std::max(0.0, std::floor((t - p.busy) * p.rate / chunk + 1e-9));
    };
    double lo = 0;
    double hi = 0;
    for (const auto& p : plans) {
      const double alone = p.busy + w * chunk / p.rate;
      hi = hi == 0 ? alone : std::min(hi, alone);
    }
    for (int i = 0; i < 60; ++i) {
      const double mid = (lo + hi) / 2;
      double n = 0;
      for (auto& p : plans) n += count(mid, p);
      (n >= w ? hi : lo) = mid;
    }
    for (auto& p : plans) p.share = static_cast<std::size_t>(std::min(count(hi, p), w));
  }
  for (const auto& p : plans)
    planner_->set_limits(p.id, p.slots, planner_->in_flight(p.id) + p.share);
}

bool DownloadSession::worth_copying(ChunkIndex chunk, const SourceId& idle,
                                    Clock::time_point now) const {
  const double size = static_cast<double>(planner_->chunk_size(chunk));
  const auto idle_flow = flow_.find(idle);
  if (idle_flow != flow_.end() && idle_flow->second.rate > 0) {
    // Measured: when the idle source would have the whole chunk, after what it has running,
    // against when the current holders will. A request being sent gets its share of its
    // source's speed (shared with the others being sent); one waiting for its turn comes
    // after them at the whole speed, and copying it moves it (withdraw_waiting): no margin.
    const double idle_time = (left_of(idle) + size) / idle_flow->second.rate;
    double holder_left = -1;
    bool moves = false;
    for (const auto& [id, r] : requests_) {
      if (r.chunk != chunk) continue;
      if (r.sealing) return false;
      double left = 0;
      if (auto f = flow_.find(r.source); f != flow_.end() && f->second.rate > 0) {
        std::size_t sending = 0;
        double ahead = 0;  // bytes still to come of the requests being sent
        for (const auto& [id2, r2] : requests_) {
          if (r2.source != r.source || !r2.chunk || r2.sealing || r2.bytes == 0) continue;
          ++sending;
          const auto s2 = static_cast<double>(planner_->chunk_size(*r2.chunk));
          ahead += s2 - std::min(s2, static_cast<double>(r2.bytes));
        }
        if (waiting(r)) {
          moves = true;
          left = (ahead + size) / f->second.rate;
        } else {
          // Its speed in a window while the idle source sent us nothing: while both sent,
          // they may have shared our own link, and then it speeds up by itself now.
          const auto& idle_since = idle_flow->second.idle_since;
          if (!idle_since || f->second.window_start < *idle_since) return false;
          const double rate =
              f->second.window_rate / static_cast<double>(std::max<std::size_t>(sending, 1));
          left = (size - static_cast<double>(r.bytes)) / std::max(rate, 1.0);
        }
      } else if (now - r.started >= settings_.copy_after) {
        const double rate =
            static_cast<double>(r.bytes) / std::chrono::duration<double>(now - r.started).count();
        left = (size - static_cast<double>(r.bytes)) / std::max(rate, 1.0);
      } else {
        return false;  // too early to judge it
      }
      holder_left = holder_left < 0 ? left : std::min(holder_left, left);
    }
    return holder_left > (moves ? 1.0 : 1.25) * idle_time;
  }
  // How fast the idle source fetches one chunk: its own record, else the others' average.
  double idle_rate = 0;
  if (auto it = request_rate_.find(idle); it != request_rate_.end()) {
    idle_rate = it->second;
  } else if (!request_rate_.empty()) {
    for (const auto& [s, rate] : request_rate_) idle_rate += rate;
    idle_rate /= static_cast<double>(request_rate_.size());
  }
  if (idle_rate <= 0) return false;
  double holder_left = -1;  // seconds the best current holder still needs
  for (const auto& [id, r] : requests_) {
    if (r.chunk != chunk) continue;
    if (r.sealing) return false;
    const double ran = std::chrono::duration<double>(now - r.started).count();
    if (now - r.started < settings_.copy_after) return false;  // too early to judge it
    const double rate = static_cast<double>(r.bytes) / ran;
    const double left = (size - static_cast<double>(r.bytes)) / std::max(rate, 1.0);
    holder_left = holder_left < 0 ? left : std::min(holder_left, left);
  }
  return holder_left > 2 * size / idle_rate;
}

}  // namespace lanspread::transfer
