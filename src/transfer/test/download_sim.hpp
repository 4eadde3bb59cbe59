// A download in virtual time for the session's tests: simulated sources of given speeds and
// behaviours carry out the session's actions (no sockets, no disk, no clock).
#pragma once

#include "transfer/download_session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

namespace lanspread::transfer::sim {

using namespace std::chrono_literals;
constexpr std::uint64_t kMiB = 1ULL << 20;
constexpr auto kStep = 10ms;

enum class Behaviour {
  ok,       // sends at its rate
  silent,   // answers the header, then sends nothing
  corrupt,  // sends every byte, but they do not match
  refuse,   // answers every request with an Error
  decline,  // answers `busy` to every request it may decline (spread), serves plain ones
};

struct Peer {
  Peer(double r = 10e6, Behaviour b = Behaviour::ok) : rate(r), behaviour(b) {}
  double rate;  // bytes per second, shared by its requests (one uplink)
  Behaviour behaviour;
  std::optional<Clock::duration> leave_at;
  std::optional<Clock::duration> join_at;    // not a source before then
  std::optional<Clock::duration> rejoin_at;  // after leave_at: a source again
  // A silent peer that sends again from then on, and answers the caller's pings every 2 s
  // (source_answered) from then on.
  std::optional<Clock::duration> recover_at;
  bool silent_sentinel = false;
  // Sends our requests one after another, the oldest first (as lanspread's server does),
  // instead of all at once, each at its share.
  bool sequential = false;
  // Its part of our link (Sim::downlink) against the others' while they all send: unequal
  // when one connection's congestion control wins over another's.
  double weight = 1;
};

struct Report {
  Clock::duration at;
  DownloadProgress p;
};

struct Sim {
  Sim(std::vector<std::uint64_t> chunk_sizes, std::map<SourceId, Peer> peer_models,
      DownloadSettings s = {}, std::uint64_t reused = 0)
      : peers(std::move(peer_models)),
        sizes(std::move(chunk_sizes)),
        session("g", "7", initial(peers), s, start),
        settings(s),
        reused_bytes(reused) {}

  static std::vector<SourceId> initial(const std::map<SourceId, Peer>& m) {
    std::vector<SourceId> out;
    for (const auto& [id, p] : m)
      if (!p.join_at) out.push_back(id);
    return out;
  }

  Clock::duration elapsed() const { return now - start; }

  // Runs until the session ends or `limit` passes; returns the virtual seconds taken.
  double run(Clock::duration limit = 3600s) {
    apply();
    session.checked(sizes, reused_bytes, now);
    apply();
    while (!session.ended() && elapsed() < limit) step();
    return std::chrono::duration<double>(elapsed()).count();
  }

  void step() {
    now += kStep;
    for (auto& [id, p] : peers) {
      if (p.join_at && *p.join_at <= elapsed() && !joined.contains(id)) {
        joined.insert(id);
        left.erase(id);
        session.source_joined(id, now);
        apply();
      }
      if (p.leave_at && *p.leave_at <= elapsed() && !departed.contains(id)) {
        departed.insert(id);
        left.insert(id);
        session.source_left(id, now);
        apply();
      }
      if (p.rejoin_at && *p.rejoin_at <= elapsed() && departed.contains(id) &&
          !rejoined.contains(id)) {
        rejoined.insert(id);
        left.erase(id);
        session.source_joined(id, now);
        apply();
      }
      if (p.recover_at && *p.recover_at <= elapsed() && p.behaviour == Behaviour::silent) {
        p.behaviour = Behaviour::ok;
        recovered_at[id] = elapsed();
      }
      if (recovered_at.contains(id) && (elapsed() - recovered_at[id]) % 2s < kStep) {
        if (session.source_answered(id, now)) readmitted[id].push_back(elapsed());
        apply();
      }
    }
    // Each source's bytes of this step, shared by its requests (a sequential source sends
    // only its oldest one), and by the sources when our own link is the narrower.
    std::map<SourceId, std::size_t> per_source;
    std::map<SourceId, RequestId> head;
    for (const auto& [id, r] : running) {
      if (peers.at(r.source).sequential) {
        head.try_emplace(r.source, id);
        per_source[r.source] = 1;
      } else {
        ++per_source[r.source];
      }
    }

    struct Event {
      RequestId id;
      std::uint64_t bytes;
      bool complete;
      Behaviour behaviour;
    };
    std::vector<Event> events;
    for (auto& [id, r] : running) {
      const Peer& p = peers.at(r.source);
      const bool mute = p.behaviour == Behaviour::silent || (!r.chunk && p.silent_sentinel);
      if (mute || (p.sequential && head[r.source] != id)) continue;
      const std::uint64_t size = r.chunk ? sizes[*r.chunk] : 10;
      const double rate = downlink > 0 ? fair_share(per_source, r.source) : p.rate;
      const auto share =
          static_cast<std::uint64_t>(rate * std::chrono::duration<double>(kStep).count() /
                                     static_cast<double>(per_source[r.source]));
      const std::uint64_t n = std::min(std::max<std::uint64_t>(share, 1), size - r.got);
      r.got += n;
      events.push_back({id, n, r.got == size, p.behaviour});
    }
    for (const auto& e : events) {
      if (!running.contains(e.id)) continue;  // cancelled by an earlier event of this step
      session.bytes_received(e.id, e.bytes, now);
      if (e.complete) {
        const bool chunk = running.at(e.id).chunk.has_value();
        running.erase(e.id);
        if (e.behaviour == Behaviour::corrupt && chunk) {
          session.request_failed(e.id, FailureKind::corrupt, "hash mismatch", now);
        } else {
          session.request_done(e.id, now);
        }
      }
      apply();
    }
    for (RequestId id : std::exchange(seals, {})) {
      session.chunk_sealed(id, true, now);
      apply();
    }
    session.tick(now);
    apply();
  }

  // `source`'s part of our link when the sources in `active` send at once: parts in
  // proportion to their weights, and what one cannot use goes to the others.
  double fair_share(const std::map<SourceId, std::size_t>& active, const SourceId& source) const {
    std::map<SourceId, double> fixed;  // sources held to their own rate
    for (;;) {
      double unused = downlink;
      double weights = 0;
      for (const auto& [id, n] : active) {
        if (fixed.contains(id)) {
          unused -= fixed[id];
        } else {
          weights += peers.at(id).weight;
        }
      }
      bool more = false;
      for (const auto& [id, n] : active) {
        if (fixed.contains(id)) continue;
        if (unused * peers.at(id).weight / weights > peers.at(id).rate) {
          fixed[id] = peers.at(id).rate;
          more = true;
        }
      }
      if (!more) {
        if (fixed.contains(source)) return fixed[source];
        return unused * peers.at(source).weight / weights;
      }
    }
  }

  void apply() {
    for (auto& a : session.take_actions()) {
      std::visit(
          [&](auto& act) {
            using T = std::decay_t<decltype(act)>;
            if constexpr (std::is_same_v<T, FetchChunk>) {
              EXPECT_FALSE(left.contains(act.source)) << "asked a source that left";
              if (act.duplicate) duplicates.emplace_back(act.source, elapsed());
              ++fetches[act.source];
              fetch_times[act.source].push_back(elapsed());
              fetch_sources.insert(act.source);
              if (peers.at(act.source).behaviour == Behaviour::refuse) {
                refusals.push_back(act.id);
                return;
              }
              if (peers.at(act.source).behaviour == Behaviour::decline &&
                  session.may_decline(act.source)) {
                declines.push_back(act.id);
                return;
              }
              running[act.id] = {act.source, act.chunk, 0};
              header.push_back(act.id);
            } else if constexpr (std::is_same_v<T, FetchSentinel>) {
              sentinel_sources.push_back(act.source);
              running[act.id] = {act.source, std::nullopt, 0};
              header.push_back(act.id);
            } else if constexpr (std::is_same_v<T, CancelRequest>) {
              ++cancels;
              running.erase(act.id);
            } else if constexpr (std::is_same_v<T, SealChunk>) {
              sealed_chunks.push_back(act.chunk);
              rechecks += act.recheck ? 1 : 0;
              seals.push_back(act.id);
            } else if constexpr (std::is_same_v<T, ReportProgress>) {
              reports.push_back({elapsed(), act.progress});
            } else if constexpr (std::is_same_v<T, Fail>) {
              failure = act;
            } else if constexpr (std::is_same_v<T, Finish>) {
              finished = true;
            }
          },
          a);
    }
    // Answers that come at once: headers (a sign of life) and refusals.
    for (RequestId id : std::exchange(header, {})) {
      if (running.contains(id)) session.bytes_received(id, 0, now);
    }
    for (RequestId id : std::exchange(refusals, {})) {
      session.request_failed(id, FailureKind::refused, "no such file", now);
      apply();
    }
    for (RequestId id : std::exchange(declines, {})) {
      session.request_failed(id, FailureKind::declined, "busy", now);
      apply();
    }
  }

  bool reported(DownloadPhase phase, Clock::duration from, Clock::duration to) const {
    return std::any_of(reports.begin(), reports.end(), [&](const Report& r) {
      return r.p.phase == phase && r.at >= from && r.at <= to;
    });
  }

  std::vector<Report> downloading_reports() const {
    std::vector<Report> out;
    for (const auto& r : reports)
      if (r.p.phase == DownloadPhase::downloading) out.push_back(r);
    return out;
  }

  struct Running {
    SourceId source;
    std::optional<ChunkIndex> chunk;
    std::uint64_t got = 0;
  };
  std::map<SourceId, Peer> peers;
  std::vector<std::uint64_t> sizes;
  Clock::time_point start{};
  Clock::time_point now{};
  DownloadSession session;
  DownloadSettings settings;
  std::uint64_t reused_bytes;
  std::map<RequestId, Running> running;
  double downlink = 0;  // bytes per second of our own link; 0: wider than any source's
  std::vector<RequestId> header, refusals, declines, seals;
  std::set<SourceId> joined, departed, rejoined, left, fetch_sources;  // left: gone right now
  std::map<SourceId, Clock::duration> recovered_at;
  std::map<SourceId, std::vector<Clock::duration>> readmitted;
  std::map<SourceId, std::size_t> fetches;
  std::map<SourceId, std::vector<Clock::duration>> fetch_times;
  std::vector<SourceId> sentinel_sources;
  std::vector<ChunkIndex> sealed_chunks;
  std::size_t rechecks = 0;
  std::size_t cancels = 0;
  std::vector<std::pair<SourceId, Clock::duration>> duplicates;  // end-game copies
  std::vector<Report> reports;
  std::optional<Fail> failure;
  bool finished = false;
};

std::vector<std::uint64_t> chunks(std::size_t n, std::uint64_t size = kMiB) {
  return std::vector<std::uint64_t>(n, size);
}

}  // namespace lanspread::transfer::sim
