// The chunk planner driven by a virtual-time simulation of sources with given speeds and
// behaviours (no sockets, no clock). The simulation plays the caller's part of failing a
// request that stays silent for `silence` (the download session does that in the product).
#include "transfer/chunk_planner.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <random>

namespace lanspread::transfer {
namespace {

using namespace std::chrono_literals;
constexpr std::uint64_t kChunk = 8ULL << 20;

enum class Behaviour { ok, fail, corrupt, hang };

struct SourceModel {
  double bytes_per_second = 100e6;
  Behaviour behaviour = Behaviour::ok;
};

// Runs a whole download; returns the virtual seconds it took.
struct Sim {
  Sim(std::size_t chunks, std::map<SourceId, SourceModel> models, PlannerConfig config = {},
      Clock::duration silence_timeout = 15s)
      : silence(silence_timeout),
        models_(std::move(models)),
        planner(std::vector<std::uint64_t>(chunks, kChunk), ids(models_), config) {}

  static std::vector<SourceId> ids(const std::map<SourceId, SourceModel>& m) {
    std::vector<SourceId> out;
    for (const auto& [id, model] : m) out.push_back(id);
    return out;
  }

  double run(std::chrono::seconds limit = 3600s) {
    const auto start = now;
    while (!planner.finished() && !planner.stuck() && now - start < limit) {
      for (const auto& a : planner.next(now)) {
        EXPECT_TRUE(planner.usable(a.source));
        EXPECT_LE(planner.in_flight(a.source), 4u);
        ++assignments;
        duplicates += a.duplicate ? 1 : 0;
        const auto& m = models_.at(a.source);
        const auto took = std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(static_cast<double>(kChunk) / m.bytes_per_second));
        const auto end = m.behaviour == Behaviour::hang ? Clock::time_point::max()
                         : m.behaviour == Behaviour::ok ? now + took
                                                        : now + 1ms;
        running.push_back({a.source, a.chunk, end, now});
      }
      // Advance to the next completion, or to the next stall check.
      auto next = now + 1s;
      for (const auto& r : running) next = std::min(next, r.end);
      now = std::max(now, next);
      std::vector<Running> due;
      std::erase_if(running, [&](const Running& r) {
        if (r.end > now) return false;
        due.push_back(r);
        return true;
      });
      for (const auto& r : due) {
        const auto b = models_.at(r.source).behaviour;
        if (b == Behaviour::ok) {
          if (std::find(done.begin(), done.end(), r.chunk) == done.end()) done.push_back(r.chunk);
          for (const auto& c : planner.completed(r.source, r.chunk)) cancel(c);
        } else {
          for (const auto& c : planner.failed(
                   r.source, r.chunk,
                   b == Behaviour::corrupt ? FailureKind::corrupt : FailureKind::error, now))
            cancel(c);
        }
      }
      std::vector<Running> mute;
      for (const auto& r : running)
        if (now - r.start >= silence) mute.push_back(r);
      for (const auto& r : mute) {
        cancel({r.source, r.chunk});
        for (const auto& c : planner.failed(r.source, r.chunk, FailureKind::silent, now)) cancel(c);
      }
    }
    return std::chrono::duration<double>(now - start).count();
  }

  void cancel(const Cancellation& c) {
    ++cancelled;
    std::erase_if(running,
                  [&](const Running& r) { return r.source == c.source && r.chunk == c.chunk; });
  }

  struct Running {
    SourceId source;
    ChunkIndex chunk;
    Clock::time_point end;
    Clock::time_point start;  // the simulated requests send nothing until they end
  };
  Clock::duration silence;
  std::map<SourceId, SourceModel> models_;
  ChunkPlanner planner;
  Clock::time_point now{};
  std::vector<Running> running;
  std::vector<ChunkIndex> done;
  std::size_t assignments = 0;
  std::size_t duplicates = 0;
  std::size_t cancelled = 0;
};

// Guards against round-robin planning: a peer twice as fast must carry about twice the work.
TEST(ChunkPlanner, WorkFollowsSpeed) {
  Sim sim(300, {{"fast", {200e6}}, {"mid", {100e6}}, {"slow", {50e6}}});
  sim.run();
  ASSERT_TRUE(sim.planner.finished());
  const double fast = static_cast<double>(sim.planner.completed_by("fast"));
  const double slow = static_cast<double>(sim.planner.completed_by("slow"));
  EXPECT_NEAR(fast / slow, 4.0, 1.0);
  EXPECT_EQ(sim.planner.bytes_done(), 300 * kChunk);
  EXPECT_EQ(sim.done.size(), 300u);
}

// Guards against a single source being underused or a zero-source download hanging.
TEST(ChunkPlanner, SingleAndZeroSources) {
  Sim one(10, {{"only", {}}});
  one.run();
  EXPECT_TRUE(one.planner.finished());
  EXPECT_EQ(one.planner.completed_by("only"), 10 * kChunk);

  ChunkPlanner none(std::vector<std::uint64_t>(3, kChunk), {});
  EXPECT_TRUE(none.stuck());
  EXPECT_FALSE(none.exhausted());
  EXPECT_TRUE(none.next(Clock::now()).empty());
  ChunkPlanner empty({}, {"a"});
  EXPECT_TRUE(empty.finished());
}

// Guards against a failing peer stalling the download: its chunks go to others, it is backed
// off, then dropped.
TEST(ChunkPlanner, FailingSourceIsDropped) {
  Sim sim(400, {{"good", {}}, {"bad", {100e6, Behaviour::fail}}});
  sim.run();
  ASSERT_TRUE(sim.planner.finished());
  EXPECT_FALSE(sim.planner.usable("bad"));
  EXPECT_EQ(sim.planner.completed_by("good"), 400 * kChunk);
}

// Guards against one outage dropping a source: its requests that fail together (a reset
// connection fails them all) count as one failure, so it is backed off, not dropped.
TEST(ChunkPlanner, FailuresOfOneEpisodeCountOnce) {
  ChunkPlanner p(std::vector<std::uint64_t>(20, kChunk), {"a"});
  const auto t0 = Clock::time_point{};
  const auto first = p.next(t0);
  ASSERT_EQ(first.size(), 4u);
  for (const auto& a : first) EXPECT_TRUE(p.failed("a", a.chunk, FailureKind::error, t0).empty());
  EXPECT_TRUE(p.usable("a"));
  EXPECT_TRUE(p.next(t0 + 1s).empty());  // backed off for 2 s
  const auto second = p.next(t0 + 2s);
  ASSERT_EQ(second.size(), 4u);
  // The second episode (backed off for 4 s), then the third: dropped.
  for (const auto& a : second) p.failed("a", a.chunk, FailureKind::silent, t0 + 2s);
  EXPECT_TRUE(p.usable("a"));
  const auto third = p.next(t0 + 6s);
  ASSERT_EQ(third.size(), 4u);
  EXPECT_EQ(p.failed("a", third[0].chunk, FailureKind::silent, t0 + 6s).size(), 3u);
  EXPECT_FALSE(p.usable("a"));
  EXPECT_TRUE(p.stuck());
}

// Guards against trusting a peer that sent corrupt data again.
TEST(ChunkPlanner, CorruptSourceIsDroppedAtOnce) {
  Sim sim(20, {{"good", {}}, {"liar", {1e9, Behaviour::corrupt}}});
  sim.run();
  ASSERT_TRUE(sim.planner.finished());
  EXPECT_FALSE(sim.planner.usable("liar"));
  EXPECT_EQ(sim.planner.completed_by("liar"), 0u);
}

// Guards against a peer that accepts requests and then goes silent holding chunks forever.
TEST(ChunkPlanner, StalledRequestsMoveOn) {
  Sim sim(20, {{"good", {}}, {"mute", {100e6, Behaviour::hang}}}, {}, 5s);
  sim.run();
  ASSERT_TRUE(sim.planner.finished());
  EXPECT_EQ(sim.planner.completed_by("good"), 20 * kChunk);
  EXPECT_GT(sim.cancelled, 0u);
}

// Guards against the last chunks waiting on the slowest peer: idle fast peers duplicate them
// and the slow copies are cancelled.
TEST(ChunkPlanner, EndGameDuplicatesTheSlowestChunks) {
  Sim with(40, {{"fast", {400e6}}, {"crawl", {1e6}}});
  const double t = with.run();
  ASSERT_TRUE(with.planner.finished());
  EXPECT_GT(with.duplicates, 0u);
  EXPECT_GT(with.cancelled, 0u);
  // Without end-game the crawler's 4 chunks would take 8 s each.
  EXPECT_LT(t, 3.0);
}

// Guards against losing chunks when a peer leaves in the middle of a download.
TEST(ChunkPlanner, RemovedSourceReturnsItsChunks) {
  ChunkPlanner p(std::vector<std::uint64_t>(10, kChunk), {"a", "b"});
  const auto now = Clock::now();
  auto first = p.next(now);
  ASSERT_EQ(first.size(), 8u);  // 4 slots each
  auto cancelled = p.remove_source("b");
  EXPECT_EQ(cancelled.size(), 4u);
  for (const auto& a : first)
    if (a.source == "a") p.completed("a", a.chunk);
  for (int round = 0; round < 10 && !p.finished(); ++round)
    for (const auto& a : p.next(now)) p.completed(a.source, a.chunk);
  EXPECT_TRUE(p.finished());
  EXPECT_EQ(p.completed_by("a"), 10 * kChunk);
}

// Guards against any corner of the planner's state machine: random peers, speeds, failures,
// corruption and departures; every chunk must complete exactly once or the planner must say
// it is stuck, and no request may go to a dropped source.
TEST(ChunkPlanner, RandomisedInvariants) {
  std::mt19937 rng(1234);
  for (int trial = 0; trial < 300; ++trial) {
    std::map<SourceId, SourceModel> models;
    const int n = std::uniform_int_distribution<int>(1, 5)(rng);
    for (int i = 0; i < n; ++i) {
      SourceModel m;
      m.bytes_per_second = std::uniform_real_distribution<double>(5e6, 500e6)(rng);
      const int b = std::uniform_int_distribution<int>(0, 9)(rng);
      m.behaviour = b < 6   ? Behaviour::ok
                    : b < 7 ? Behaviour::fail
                    : b < 8 ? Behaviour::corrupt
                            : Behaviour::hang;
      models["s" + std::to_string(i)] = m;
    }
    Sim sim(std::uniform_int_distribution<std::size_t>(0, 60)(rng), models, {}, 3s);
    sim.run(600s);
    const bool any_good = std::any_of(models.begin(), models.end(), [](const auto& kv) {
      return kv.second.behaviour == Behaviour::ok;
    });
    if (any_good) {
      EXPECT_TRUE(sim.planner.finished())
          << "trial " << trial << (sim.planner.exhausted() ? ": a chunk ran out of attempts" : "");
    } else {
      EXPECT_TRUE(sim.planner.finished() || sim.planner.stuck()) << "trial " << trial;
    }
    if (sim.planner.finished()) {
      EXPECT_EQ(sim.planner.bytes_done(), sim.planner.bytes_total());
      std::uint64_t by_sources = 0;
      for (const auto& [id, m] : models) by_sources += sim.planner.completed_by(id);
      EXPECT_EQ(by_sources, sim.planner.bytes_total()) << "a chunk was counted twice";
    }
  }
}

// Guards against swarming that does not spread copies or spends the seeder's uplink on
// chunks others could give: a partial source is asked only for chunks it has, the rarest
// first; the full source (the seeder) gets only chunks no partial source has.
TEST(ChunkPlanner, PartialSourcesTakeTheRarestAndSpareTheSeeder) {
  PlannerConfig config;
  config.slots = 1;
  ChunkPlanner p(std::vector<std::uint64_t>(6, kChunk), {"seeder"}, config);
  //            chunk: 0      1      2      3      4      5
  p.add_partial_source("a", {true, true, false, false, false, false});
  p.add_partial_source("b", {false, true, true, false, false, false});
  EXPECT_EQ(p.partial_holders(1), 2u);
  const auto now = Clock::time_point{};
  const auto first = p.next(now);
  std::map<SourceId, ChunkIndex> got;
  for (const auto& a : first) got[a.source] = a.chunk;
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got["a"], 0u);  // chunk 1 is held by two: 0 is rarer
  EXPECT_EQ(got["b"], 2u);
  EXPECT_EQ(got["seeder"], 3u);  // never 1: a partial source has it
  EXPECT_TRUE(p.completed("a", 0).empty());
  EXPECT_TRUE(p.completed("seeder", 3).empty());
  // Next round: a and b share chunk 1; the seeder takes the next chunk nobody else has.
  got.clear();
  for (const auto& a : p.next(now)) got[a.source] = a.chunk;
  EXPECT_EQ(got["seeder"], 4u);
  EXPECT_EQ(got.count("a") + got.count("b"), 1u);

  // A partial source that leaves: what only it had goes to the seeder.
  ChunkPlanner q(std::vector<std::uint64_t>(3, kChunk), {"seeder"}, config);
  q.add_partial_source("a", {true, true, false});
  const auto only = q.next(now);
  ASSERT_EQ(only.size(), 2u);
  EXPECT_EQ(only[0].source, "a");
  EXPECT_EQ(only[1].source, "seeder");
  EXPECT_EQ(only[1].chunk, 2u);
  EXPECT_TRUE(q.completed("seeder", 2).empty());
  EXPECT_EQ(q.remove_source("a").size(), 1u);
  const auto moved = q.next(now);
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].source, "seeder");
  EXPECT_FALSE(q.stuck());
  // Only a partial source without the missing chunks: stuck until its have-set grows.
  ChunkPlanner r(std::vector<std::uint64_t>(2, kChunk), {}, config);
  r.add_partial_source("a", {false, false});
  EXPECT_TRUE(r.stuck());
  r.set_have("a", {false, true});
  EXPECT_FALSE(r.stuck());
  const auto late = r.next(now);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].chunk, 1u);

  // Once every missing chunk is at some partial source, an idle seeder helps with the rarest
  // of them rather than idle.
  ChunkPlanner h(std::vector<std::uint64_t>(3, kChunk), {"seeder"}, config);
  h.add_partial_source("a", {true, true, true});
  h.add_partial_source("b", {false, true, true});
  std::map<SourceId, ChunkIndex> took;
  for (const auto& a : h.next(now)) took[a.source] = a.chunk;
  EXPECT_EQ(took["a"], 0u);
  ASSERT_TRUE(took.contains("seeder"));
  EXPECT_NE(took["seeder"], 0u);
}

// Guards against a downloader starving the partial sources last in id order: with more
// partial sources than requests it may run at once, each new request went to the first source
// in the planner's order with a free slot, so at a swarm of 8 one downloader's uplink sat idle
// for 12 s while it held chunks the others needed. The budget must go round the sources.
TEST(ChunkPlanner, PartialBudgetGoesRoundTheSources) {
  PlannerConfig config;
  config.swarm_partial_requests = 2;
  ChunkPlanner p(std::vector<std::uint64_t>(40, kChunk), {}, config);
  const std::vector<bool> all(40, true);
  for (const SourceId id : {"a", "b", "c", "d", "e"}) p.add_partial_source(id, all);
  std::map<SourceId, int> asked;
  std::deque<Assignment> running;
  const auto now = Clock::time_point{};
  for (int round = 0; round < 30; ++round) {
    for (const auto& a : p.next(now)) {
      ++asked[a.source];
      running.push_back(a);
    }
    // One request ends at a time, the oldest first, as they do on a network.
    ASSERT_FALSE(running.empty());
    EXPECT_TRUE(p.completed(running.front().source, running.front().chunk).empty());
    running.pop_front();
  }
  ASSERT_EQ(asked.size(), 5u) << "a source was never asked";
  const auto [low, high] = std::minmax_element(
      asked.begin(), asked.end(), [](const auto& x, const auto& y) { return x.second < y.second; });
  EXPECT_LE(high->second - low->second, 1)
      << low->first << " got " << low->second << ", " << high->first << " got " << high->second;
}

// Guards against a seeder's "busy, another downloader gets this chunk" being taken for a
// failure (the seeder backed off, dropped, the chunk given up after 8 tries) or being asked
// again at once: the chunk waits `spread_retry` for full sources, the source `spread_pause`,
// and meanwhile the source is asked for other chunks; no attempt is counted.
TEST(ChunkPlanner, ADeclinedChunkWaitsWithoutPenalty) {
  PlannerConfig config;
  config.slots = 1;
  config.spread_retry = 1s;
  config.spread_pause = 300ms;
  config.max_attempts = 2;
  ChunkPlanner p(std::vector<std::uint64_t>(2, kChunk), {"seeder"}, config);
  auto now = Clock::time_point{};
  for (int round = 0; round < 5; ++round) {
    const auto a = p.next(now);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].chunk, 0u);  // again once its decline ran out
    EXPECT_TRUE(p.failed("seeder", 0, FailureKind::declined, now).empty());
    EXPECT_TRUE(p.next(now + 200ms).empty());  // paused
    const auto other = p.next(now + 300ms);
    ASSERT_EQ(other.size(), 1u);
    EXPECT_EQ(other[0].chunk, 1u);  // not chunk 0 yet
    EXPECT_TRUE(p.failed("seeder", 1, FailureKind::declined, now + 300ms).empty());
    now += 1s;
  }
  EXPECT_FALSE(p.exhausted());
  EXPECT_TRUE(p.usable("seeder"));
  const auto a = p.next(now + 300ms);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(p.completed("seeder", a[0].chunk).empty());
}

}  // namespace
}  // namespace lanspread::transfer
