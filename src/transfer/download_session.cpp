#include "transfer/download_session.hpp"

#include <algorithm>
#include <cmath>

namespace lanspread::transfer {

DownloadSession::DownloadSession(std::string game, std::string version,
                                 std::vector<SourceId> sources, DownloadSettings settings,
                                 Clock::time_point now)
    : game_(std::move(game)),
      version_(std::move(version)),
      settings_(settings),
      sources_(std::move(sources)),
      meter_(settings.speed_window) {
  last_report_ = now;
  // The first report says at once that the download is checking.
  actions_.push_back(ReportProgress{progress(now)});
}

// ---- checking ----------------------------------------------------------------------------

void DownloadSession::check_progress(std::uint64_t done, std::uint64_t total,
                                     Clock::time_point now) {
  if (ended_ || phase_ != DownloadPhase::checking) return;
  check_done_ = done;
  check_total_ = total;
  if (now - last_report_ >= settings_.progress_interval) report(now);
}

void DownloadSession::checked(std::vector<std::uint64_t> sizes, std::uint64_t reused,
                              Clock::time_point now) {
  if (ended_ || phase_ != DownloadPhase::checking) return;
  writers_.assign(sizes.size(), 0);
  chunk_size_ = sizes.empty() ? 0 : *std::max_element(sizes.begin(), sizes.end());
  planner_.emplace(std::move(sizes), sources_, settings_.planner);
  for (auto& [id, p] : partial_) {
    planner_->add_partial_source(id, {});
    p.next = now;  // its have-set in this numbering: ask at once
  }
  reused_ = reused;
  phase_ = DownloadPhase::downloading;
  downloading_since_ = now;
  refresh_haves(now);
  pump(now);
  if (!ended_) report(now);
}

// ---- requests ----------------------------------------------------------------------------

void DownloadSession::bytes_received(RequestId id, std::uint64_t n, Clock::time_point now) {
  auto it = requests_.find(id);
  if (ended_ || it == requests_.end() || it->second.sealing) return;
  it->second.bytes += n;
  it->second.last_byte = now;
  source_byte_[it->second.source] = now;
  if (auto f = flow_.find(it->second.source); f != flow_.end() && f->second.since)
    f->second.bytes += n;
  if (n > 0) {
    last_byte_ = now;
    declining_since_.erase(it->second.source);  // it delivers: its declines were turns
  }
  meter_.add(now, n);
}

void DownloadSession::request_done(RequestId id, Clock::time_point now) {
  auto it = requests_.find(id);
  if (ended_ || it == requests_.end() || it->second.sealing) return;
  Request& r = it->second;
  if (!r.chunk) {
    // version.ini is here: the last byte of the game.
    requests_.erase(it);
    actions_.push_back(ReportProgress{progress(now)});
    ended_ = true;
    actions_.push_back(Finish{});
    return;
  }
  r.sealing = true;
  r.received = now;
  const ChunkIndex chunk = *r.chunk;
  if (planner_->done(chunk)) {
    // A late copy of a chunk already sealed: nothing to write or count.
    const SourceId source = r.source;
    requests_.erase(it);
    planner_->completed(source, chunk);
    pump(now);
    return;
  }
  // Another copy of it is being sealed: that seal decides for both (one seal, one count).
  const bool follower = std::any_of(requests_.begin(), requests_.end(), [&](const auto& kv) {
    return kv.first != id && kv.second.sealing && !kv.second.follower && kv.second.chunk == chunk;
  });
  if (follower) {
    r.follower = true;
    return;
  }
  actions_.push_back(SealChunk{id, chunk, writers_[chunk] > 1});
}

void DownloadSession::request_failed(RequestId id, FailureKind kind, std::string detail,
                                     Clock::time_point now) {
  auto it = requests_.find(id);
  if (ended_ || it == requests_.end() || it->second.sealing) return;
  const Request r = it->second;
  requests_.erase(it);
  if (kind == FailureKind::declined && r.chunk) {
    // Not a failure: the source sends this chunk to another downloader. Ask it for another.
    // But a source that only declines, delivering nothing for the silence timeout (its turns
    // held by others, or it declines on purpose), gets plain requests from then on: those
    // are served or refused, never declined, so no source keeps a download waiting forever.
    const auto since = declining_since_.try_emplace(r.source, now).first->second;
    if (now - since >= settings_.silence_timeout) plain_.insert(r.source);
    planner_->failed(r.source, *r.chunk, kind, now);
    pump(now);
    return;
  }
  blame(r.source, kind, detail);
  if (r.chunk) {
    last_chunk_error_ = detail;
    cancel_requests(planner_->failed(r.source, *r.chunk, kind, now));
    // Dropped for failing now: it may come back when it answers again, after a back-off.
    if (!planner_->usable(r.source) && kind != FailureKind::corrupt &&
        !readmit_at_.contains(r.source)) {
      const int n = std::min(++drops_[r.source], 16);
      const auto wait = std::min<Clock::duration>(settings_.readmit_after * (1 << (n - 1)),
                                                  settings_.readmit_max);
      readmit_at_[r.source] = now + wait;
    }
  } else {
    sentinel_error_ = detail;
  }
  pump(now);
}

void DownloadSession::chunk_sealed(RequestId id, bool intact, Clock::time_point now) {
  auto it = requests_.find(id);
  if (ended_ || it == requests_.end() || !it->second.sealing || it->second.follower) return;
  const Request r = it->second;
  requests_.erase(it);
  // Copies that arrived while this one was sealed end with it.
  std::vector<SourceId> followers;
  for (auto f = requests_.begin(); f != requests_.end();) {
    if (f->second.follower && f->second.chunk == r.chunk) {
      followers.push_back(f->second.source);
      f = requests_.erase(f);
    } else {
      ++f;
    }
  }
  if (intact) {
    const double secs = std::chrono::duration<double>(r.received - r.started).count();
    if (secs > 0) {
      const double rate = static_cast<double>(r.bytes) / secs;
      auto [rr, fresh] = request_rate_.try_emplace(r.source, rate);
      if (!fresh) rr->second = 0.7 * rr->second + 0.3 * rate;
    }
    cancel_requests(planner_->completed(r.source, *r.chunk));
    for (const auto& f : followers) planner_->completed(f, *r.chunk);
  } else {
    // Another writer's bytes got in before the seal: fetch it again (nobody to blame for sure).
    last_chunk_error_ = "the chunk on disk did not match after it was written";
    for (const auto& f : followers)
      cancel_requests(planner_->failed(f, *r.chunk, FailureKind::error, now));
    cancel_requests(planner_->failed(r.source, *r.chunk, FailureKind::error, now));
  }
  pump(now);
}

// ---- the world ---------------------------------------------------------------------------

void DownloadSession::local_error(std::string reason, Clock::time_point) {
  if (!ended_) end(FailCause::local, std::move(reason));
}

void DownloadSession::cancel(Clock::time_point) {
  if (!ended_) end(FailCause::cancelled, "cancelled");
}

void DownloadSession::source_joined(const SourceId& source, Clock::time_point now) {
  source_joined(source, std::nullopt, now);
}

void DownloadSession::source_joined(const SourceId& source, std::optional<ChunkHave> have,
                                    Clock::time_point now) {
  if (ended_) return;
  left_.erase(source);
  blame_.erase(source);
  sentinel_tried_.erase(source);
  readmit_at_.erase(source);
  drops_.erase(source);
  if (have) {
    partial_[source] = Partial{now + settings_.have_refresh, false};
  } else {
    partial_.erase(source);
  }
  if (!planner_) {
    if (have) {
      std::erase(sources_, source);
      partial_[source].next = now;
    } else if (std::find(sources_.begin(), sources_.end(), source) == sources_.end()) {
      sources_.push_back(source);
    }
    return;
  }
  if (have) {
    planner_->add_partial_source(source, std::move(*have));
  } else {
    planner_->add_source(source);
  }
  pump(now);
}

void DownloadSession::have_received(const SourceId& source, ChunkHave have, Clock::time_point now) {
  auto it = partial_.find(source);
  if (ended_ || it == partial_.end()) return;
  it->second.asking = false;
  it->second.next = now + settings_.have_refresh;
  if (!planner_) return;
  planner_->set_have(source, std::move(have));
  pump(now);
}

void DownloadSession::have_failed(const SourceId& source, Clock::time_point now) {
  auto it = partial_.find(source);
  if (ended_ || it == partial_.end()) return;
  it->second.asking = false;
  it->second.next = now + settings_.have_refresh;
}

void DownloadSession::source_left(const SourceId& source, Clock::time_point now) {
  if (ended_) return;
  left_.insert(source);
  partial_.erase(source);
  flow_.erase(source);
  declining_since_.erase(source);
  source_byte_.erase(source);
  if (!planner_) {
    std::erase(sources_, source);
    return;
  }
  cancel_requests(planner_->remove_source(source));
  for (auto it = requests_.begin(); it != requests_.end();) {
    if (it->second.source == source && !it->second.chunk) {  // its version.ini request
      actions_.push_back(CancelRequest{it->first});
      sentinel_tried_.insert(source);
      it = requests_.erase(it);
    } else {
      ++it;
    }
  }
  pump(now);
}

bool DownloadSession::source_answered(const SourceId& source, Clock::time_point now) {
  if (ended_ || !planner_ || left_.contains(source)) return false;
  auto it = readmit_at_.find(source);
  if (it == readmit_at_.end() || now < it->second) return false;
  readmit_at_.erase(it);
  sentinel_tried_.erase(source);
  planner_->add_source(source);
  pump(now);
  return true;
}

bool DownloadSession::source_dropped(const SourceId& source) const {
  return readmit_at_.contains(source);
}

void DownloadSession::tick(Clock::time_point now) {
  if (ended_) return;
  std::vector<RequestId> silent;
  for (const auto& [id, r] : requests_) {
    if (!r.sealing && now - heard(r) >= settings_.silence_timeout) silent.push_back(id);
  }
  const auto secs =
      std::chrono::duration_cast<std::chrono::seconds>(settings_.silence_timeout).count();
  for (RequestId id : silent) {
    if (!requests_.contains(id)) continue;  // cancelled when an earlier one dropped its source
    actions_.push_back(CancelRequest{id});
    request_failed(id, FailureKind::silent, "no data for " + std::to_string(secs) + " s", now);
    if (ended_) return;
  }
  refresh_haves(now);
  pump(now);
  if (!ended_ && now - last_report_ >= settings_.progress_interval) report(now);
}

void DownloadSession::refresh_haves(Clock::time_point now) {
  if (ended_ || !planner_ || phase_ != DownloadPhase::downloading) return;
  for (auto& [id, p] : partial_) {
    if (p.asking || p.next > now || !planner_->usable(id)) continue;
    p.asking = true;
    actions_.push_back(RefreshHave{id});
  }
}

Clock::time_point DownloadSession::next_deadline() const {
  Clock::time_point t = last_report_ + settings_.progress_interval;
  for (const auto& [id, r] : requests_) {
    if (!r.sealing) t = std::min(t, heard(r) + settings_.silence_timeout);
  }
  if (orphaned_since_) t = std::min(t, *orphaned_since_ + settings_.peer_wait);
  if (planner_ && phase_ == DownloadPhase::downloading) {
    for (const auto& [id, p] : partial_) {
      if (!p.asking && planner_->usable(id)) t = std::min(t, p.next);
    }
  }
  return t;
}

// ---- internals ---------------------------------------------------------------------------

void DownloadSession::pump(Clock::time_point now) {
  if (ended_ || !planner_) return;
  const DownloadPhase working = phase_ == DownloadPhase::waiting_for_peers ? resume_phase_ : phase_;
  if (working == DownloadPhase::downloading) {
    if (!planner_->finished()) {
      if (planner_->exhausted()) return end(FailCause::peers, peers_failure());
      if (!can_ask(planner_->stuck(), now)) return;
      measure(now);
      set_limits();
      const auto filter = [this, now](ChunkIndex c, const SourceId& idle) {
        return worth_copying(c, idle, now);
      };
      for (const auto& a : planner_->next(now, filter)) {
        if (a.duplicate) withdraw_waiting(a.chunk, a.source);
        if (writers_[a.chunk] < 2) ++writers_[a.chunk];
        const RequestId id = start(a.source, a.chunk, now);
        actions_.push_back(FetchChunk{id, a.source, a.chunk, a.duplicate});
      }
      return;
    }
    if (std::any_of(requests_.begin(), requests_.end(),
                    [](const auto& kv) { return kv.second.sealing; }))
      return;
    phase_ = DownloadPhase::committing;
    orphaned_since_.reset();
    report(now);
  }
  // committing: version.ini from one source at a time, the best deliverer first.
  if (!requests_.empty()) return;
  // A partial source has no version.ini to give.
  const auto usable = planner_->usable_sources(true);
  if (!can_ask(usable.empty(), now)) return;
  for (const auto& source : usable) {
    if (sentinel_tried_.contains(source)) continue;
    sentinel_tried_.insert(source);
    actions_.push_back(FetchSentinel{start(source, std::nullopt, now), source});
    return;
  }
  end(FailCause::peers, "no peer that offers '" + game_ +
                            "' sent a correct version.ini (last: " + sentinel_error_ + ")");
}

bool DownloadSession::can_ask(bool no_source, Clock::time_point now) {
  if (!no_source) {
    orphaned_since_.reset();
    if (phase_ == DownloadPhase::waiting_for_peers) {
      phase_ = resume_phase_;
      report(now);
    }
    return true;
  }
  // Nobody left to ask: wait for a source to join or come back, then fail.
  if (!orphaned_since_) {
    orphaned_since_ = now;
    resume_phase_ = phase_;
    phase_ = DownloadPhase::waiting_for_peers;
    report(now);
  }
  if (now - *orphaned_since_ >= settings_.peer_wait) end(FailCause::peers, peers_failure());
  return false;
}

RequestId DownloadSession::start(SourceId source, std::optional<ChunkIndex> chunk,
                                 Clock::time_point now) {
  const RequestId id = next_id_++;
  requests_.emplace(id, Request{std::move(source), chunk, now, now, 0, false, {}});
  return id;
}

Clock::time_point DownloadSession::heard(const Request& r) const {
  auto it = source_byte_.find(r.source);
  return it == source_byte_.end() ? r.last_byte : std::max(r.last_byte, it->second);
}

bool DownloadSession::waiting(const Request& r) const {
  if (!r.chunk || r.sealing || r.bytes > 0) return false;
  return std::any_of(requests_.begin(), requests_.end(), [&](const auto& kv) {
    const Request& o = kv.second;
    return o.source == r.source && o.chunk && !o.sealing && o.bytes > 0;
  });
}

void DownloadSession::withdraw_waiting(ChunkIndex chunk, const SourceId& idle) {
  for (auto it = requests_.begin(); it != requests_.end(); ++it) {
    const Request& r = it->second;
    if (r.chunk != chunk || r.source == idle || !waiting(r)) continue;
    planner_->withdraw(r.source, chunk);
    actions_.push_back(CancelRequest{it->first});
    requests_.erase(it);
    ++moved_;
    return;
  }
}

void DownloadSession::cancel_requests(const std::vector<Cancellation>& cancels) {
  for (const auto& c : cancels) {
    for (auto it = requests_.begin(); it != requests_.end(); ++it) {
      const Request& r = it->second;
      if (r.source == c.source && r.chunk == c.chunk && !r.sealing) {
        actions_.push_back(CancelRequest{it->first});
        requests_.erase(it);
        break;
      }
    }
  }
}

void DownloadSession::end(FailCause cause, std::string reason) {
  // Seals already started finish on their own (the caller waits for them); their answers,
  // like every later event, are ignored.
  for (const auto& [id, r] : requests_) {
    if (!r.sealing) actions_.push_back(CancelRequest{id});
  }
  requests_.clear();
  ended_ = true;
  actions_.push_back(Fail{cause, std::move(reason)});
}

void DownloadSession::blame(const SourceId& source, FailureKind kind, const std::string& detail) {
  blame_[source] = {kind, detail};
}

std::string DownloadSession::peers_failure() const {
  if (planner_ && planner_->exhausted()) {
    return "a chunk of '" + game_ + "' failed on " +
           std::to_string(settings_.planner.max_attempts) +
           " attempts (last: " + last_chunk_error_ + ")";
  }
  // What each dropped source did last; sources that left count as "left".
  std::map<std::string, std::size_t> counts;
  std::string detail;
  for (const auto& s : left_) {
    if (!blame_.contains(s)) ++counts["left"];
  }
  for (const auto& [s, b] : blame_) {
    if (planner_ && planner_->usable(s)) continue;
    switch (b.first) {
      case FailureKind::silent:
        ++counts["stopped sending"];
        break;
      case FailureKind::corrupt:
        ++counts["sent corrupt data"];
        break;
      case FailureKind::refused:
        ++counts["refused the request"];
        break;
      case FailureKind::error:
      case FailureKind::declined:
        ++counts["failed"];
        break;
    }
    if (b.first != FailureKind::corrupt) detail = b.second;
  }
  const std::string gone = "no peer has version " + version_ + " of '" + game_ + "' any more";
  if (counts.empty()) return gone;
  if (counts.size() == 1) {
    const std::string& what = counts.begin()->first;
    if (what == "left") return gone + " (every peer that offered it left)";
    return "every peer that offers '" + game_ + "' " + what +
           (detail.empty() ? "" : " (" + detail + ")");
  }
  std::string out = "no peer that offers '" + game_ + "' could deliver it:";
  bool first = true;
  for (const auto& [what, n] : counts) {
    out += (first ? " " : ", ") + std::to_string(n) + " " + what;
    first = false;
  }
  return out;
}

void DownloadSession::report(Clock::time_point now) {
  last_report_ = now;
  actions_.push_back(ReportProgress{progress(now)});
}

DownloadProgress DownloadSession::progress(Clock::time_point now) {
  DownloadProgress p;
  p.phase = phase_;
  if (phase_ == DownloadPhase::checking) {
    p.done = check_done_;
    p.total = check_total_;
    return p;
  }
  p.total = reused_ + planner_->bytes_total();
  p.verified = reused_ + planner_->bytes_done();
  // Bytes of chunks still arriving: each chunk once, however many copies run.
  std::map<ChunkIndex, std::uint64_t> arriving;
  std::set<SourceId> active;
  for (const auto& [id, r] : requests_) {
    if (!r.chunk) continue;
    if (!r.sealing) active.insert(r.source);
    if (planner_->done(*r.chunk)) continue;  // a late copy of a verified chunk
    auto& b = arriving[*r.chunk];
    b = std::max(b, r.bytes);
  }
  p.done = p.verified;
  for (const auto& [chunk, bytes] : arriving) p.done += bytes;
  p.done = std::min(p.done, p.total);
  p.active_peers = active.size();
  p.bytes_per_second = meter_.rate(now);
  if (const auto first = meter_.first(); first && now - *first >= settings_.eta_warmup) {
    // The window's speed; when the window holds nothing (a stall), the whole run's average,
    // so the estimate stays a number once it is one (stalled_seconds says why it grows).
    double speed = static_cast<double>(p.bytes_per_second);
    if (speed <= 0) {
      speed = static_cast<double>(meter_.total()) /
              std::max(std::chrono::duration<double>(now - *first).count(), 1e-3);
    }
    const double left = static_cast<double>(p.total - p.done);
    p.eta_seconds = static_cast<std::uint64_t>(std::ceil(left / std::max(speed, 1.0)));
  }
  if (phase_ == DownloadPhase::downloading || phase_ == DownloadPhase::waiting_for_peers) {
    const auto quiet = now - std::max(last_byte_, downloading_since_);
    p.stalled_seconds =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::seconds>(quiet).count());
  }
  return p;
}

}  // namespace lanspread::transfer
