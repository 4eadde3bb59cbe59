// Whole downloads through the download session in virtual time: simulated sources of given
// speeds and behaviours carry out its actions (no sockets, no disk, no clock).
#include "transfer/download_session.hpp"
#include "download_sim.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace lanspread::transfer {
namespace {

using namespace sim;

// Guards against round-robin work sharing and progress a bar cannot use: a source twice as
// fast does about twice the work; reports come at least 4 times a second; `done` never steps
// back without a failure; the speed is the sources' sum; the ETA is null only for the first
// second and then close to the truth.
TEST(DownloadSession, SeveralSourcesOfDifferentSpeeds) {
  Sim sim(chunks(120), {{"fast", {40e6}}, {"mid", {20e6}}, {"slow", {10e6}}});
  const double took = sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  const auto* planner = sim.session.planner();
  EXPECT_NEAR(static_cast<double>(planner->completed_by("fast")) /
                  static_cast<double>(planner->completed_by("slow")),
              4.0, 1.2);
  EXPECT_NEAR(took, 120.0 * kMiB / 70e6, 0.5);
  EXPECT_EQ(sim.sealed_chunks.size(), 120u);

  const auto reports = sim.downloading_reports();
  ASSERT_FALSE(reports.empty());
  for (std::size_t i = 1; i < reports.size(); ++i) {
    EXPECT_LE(reports[i].at - reports[i - 1].at, 250ms);
    EXPECT_GE(reports[i].p.done, reports[i - 1].p.done);
    EXPECT_LE(reports[i].p.verified, reports[i].p.done);
  }
  for (const auto& r : reports) {
    const bool warm = r.at >= 1s + kStep;
    EXPECT_EQ(r.p.eta_seconds.has_value(), warm) << "at " << r.at.count();
    EXPECT_EQ(r.p.stalled_seconds, 0u);
    if (r.at >= 500ms && r.at < 1500ms) {
      EXPECT_NEAR(static_cast<double>(r.p.bytes_per_second), 70e6, 7e6);
    }
    if (r.at >= 1s && r.p.done < r.p.total / 2) {
      const double left = took - std::chrono::duration<double>(r.at).count();
      EXPECT_NEAR(static_cast<double>(*r.p.eta_seconds), left, 1.0);
    }
    if (r.p.done < r.p.total / 2) EXPECT_EQ(r.p.active_peers, 3u);
  }
  EXPECT_EQ(sim.reports.back().p.done, 120 * kMiB);
  EXPECT_EQ(sim.reports.back().p.verified, 120 * kMiB);
  // Every byte that crossed the network: the game, version.ini, and end-game copies.
  EXPECT_GE(sim.session.network_bytes(), 120 * kMiB + 10);
  EXPECT_LE(sim.session.network_bytes(), 128 * kMiB);
}

// Guards against one download of several sharing a slow uplink being failed as "stalled": a
// request that takes minutes but keeps receiving bytes is never failed.
TEST(DownloadSession, SlowButSteadyIsNeverFailed) {
  // 8 MiB chunks at 100 KB/s over 4 requests: each chunk takes almost six minutes.
  Sim sim(chunks(4, 8 * kMiB), {{"only", {100e3}}});
  sim.run(2h);
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_EQ(sim.cancels, 0u);
  EXPECT_EQ(sim.fetches["only"], 4u);
}

// Guards against requests that wait their turn at a source sending our others one after
// another being failed as silent: nothing of them comes for minutes while the source sends.
TEST(DownloadSession, RequestsWaitingTheirTurnAreNotSilent) {
  Peer only{100e3};
  only.sequential = true;
  Sim sim(chunks(4, 8 * kMiB), {{"only", only}});
  sim.run(2h);
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_EQ(sim.cancels, 0u);
  EXPECT_EQ(sim.fetches["only"], 4u);
}

// Guards against an end-game that sends the last chunks twice when our own link, not the
// sources', is the limit (copies then only steal from the originals): a request still
// waiting its turn at a busy source moves to an idle source instead, and no byte crosses the
// network twice.
TEST(DownloadSession, EndGameMovesWaitingRequestsInsteadOfCopying) {
  Peer a{40e6}, b{15e6};
  a.sequential = b.sequential = true;
  Sim sim(chunks(11, 8 * kMiB), {{"a", a}, {"b", b}});
  sim.downlink = 50e6;
  const double took = sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_GT(sim.session.moved_requests(), 0u);
  EXPECT_EQ(sim.session.network_bytes(), 11 * 8 * kMiB + 10);
  EXPECT_LT(took, 11.0 * 8 * kMiB / 50e6 * 1.1);
}

// Guards against an end-game copy from a holder that was slow only because another source
// took most of our link: once that source is idle the holder has the whole link, and a copy
// would only take half of it away and send the chunk twice.
TEST(DownloadSession, EndGameDoesNotCopyFromAHolderSlowedByOurOwnLink) {
  Peer a{60e6}, b{60e6};
  a.sequential = b.sequential = true;
  a.weight = 30;
  Sim sim(chunks(11, 8 * kMiB), {{"a", a}, {"b", b}});
  sim.downlink = 50e6;
  sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_EQ(sim.session.network_bytes(), 11 * 8 * kMiB + 10);
}

// Guards against a source that declines every spread request (its upload turns held by
// others, or declining on purpose) keeping the download waiting forever: once it has declined
// for the silence timeout without delivering a byte it gets plain requests, and serves them.
TEST(DownloadSession, ASourceThatOnlyDeclinesGetsPlainRequests) {
  DownloadSettings s;
  Sim sim(chunks(4, 1 * kMiB), {{"only", {10e6, Behaviour::decline}}}, s);
  const double took = sim.run(10min);
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_FALSE(sim.session.may_decline("only"));
  // It waited out the silence timeout of declines, and no more than a few seconds beyond.
  EXPECT_GE(took, std::chrono::duration<double>(s.silence_timeout).count());
  EXPECT_LT(took, std::chrono::duration<double>(s.silence_timeout).count() + 5);
}

// Guards against a source that answers and then says nothing wedging the download: its
// requests fail after the silence timeout, it is backed off (then dropped), and the others
// finish its work.
TEST(DownloadSession, SilentSourceIsFailedAndItsWorkMovesOn) {
  // Long enough (21 s) that the silence timeout comes before the end-game would.
  Sim sim(chunks(400), {{"good", {20e6}}, {"mute", {20e6, Behaviour::silent}}});
  const double took = sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_EQ(sim.session.planner()->completed_by("mute"), 0u);
  EXPECT_EQ(sim.session.planner()->completed_by("good"), 400 * kMiB);
  // Four requests at the start; after their silence (10 s) the source is backed off 2 s.
  const auto& times = sim.fetch_times["mute"];
  ASSERT_GT(times.size(), 4u);
  EXPECT_EQ(times[3], Clock::duration::zero());
  EXPECT_GE(times[4], 12s);
  EXPECT_GE(sim.cancels, 4u);
  // The good source worked all along: the mute chunks cost no time beyond its own.
  EXPECT_LT(took, 400.0 * kMiB / 20e6 + 1.0);
  // While the mute source held chunks, bytes still arrived: the download was never stalled.
  for (const auto& r : sim.downloading_reports()) EXPECT_EQ(r.p.stalled_seconds, 0u);
}

// Guards against the old "no peer offers this game" when the peers were there but stopped
// sending: the reason names the real cause, and it comes after the silence and grace periods
// instead of never.
TEST(DownloadSession, OnlySilentSourcesFailWithTheRealCause) {
  Sim sim(chunks(10), {{"a", {10e6, Behaviour::silent}}, {"b", {10e6, Behaviour::silent}}});
  const double took = sim.run();
  ASSERT_TRUE(sim.failure);
  EXPECT_EQ(sim.failure->cause, FailCause::peers);
  EXPECT_EQ(sim.failure->reason, "every peer that offers 'g' stopped sending (no data for 10 s)");
  // Three episodes of silence (10 s, back-off 2 s, 10 s, back-off 4 s, 10 s) drop both,
  // then the download waits for peers (10 min) with nobody to ask, and says so.
  EXPECT_NEAR(took, 36.0 + 600.0, 0.1);
  EXPECT_TRUE(sim.reported(DownloadPhase::waiting_for_peers, 35s, 37s));
  // While nothing arrived, stalled_seconds counted up.
  std::uint64_t most = 0;
  for (const auto& r : sim.downloading_reports()) most = std::max(most, r.p.stalled_seconds);
  EXPECT_GE(most, 9u);
}

// Guards against trusting a source that sent corrupt data, and a failure that hides why.
TEST(DownloadSession, CorruptSourceIsDropped) {
  Sim mixed(chunks(30), {{"good", {10e6}}, {"liar", {50e6, Behaviour::corrupt}}});
  mixed.run();
  ASSERT_TRUE(mixed.finished);
  EXPECT_EQ(mixed.session.planner()->completed_by("liar"), 0u);
  EXPECT_EQ(mixed.session.planner()->completed_by("good"), 30 * kMiB);

  Sim liars(chunks(30), {{"l1", {50e6, Behaviour::corrupt}}, {"l2", {50e6, Behaviour::corrupt}}});
  liars.run();
  ASSERT_TRUE(liars.failure);
  EXPECT_EQ(liars.failure->reason, "every peer that offers 'g' sent corrupt data");

  Sim both(chunks(30), {{"l1", {50e6, Behaviour::corrupt}}, {"m", {50e6, Behaviour::silent}}});
  both.run();
  ASSERT_TRUE(both.failure);
  EXPECT_EQ(both.failure->reason,
            "no peer that offers 'g' could deliver it: 1 sent corrupt data, 1 stopped sending");

  Sim refusing(chunks(3), {{"r", {50e6, Behaviour::refuse}}});
  refusing.run();
  ASSERT_TRUE(refusing.failure);
  EXPECT_EQ(refusing.failure->reason,
            "every peer that offers 'g' refused the request (no such file)");
}

// Guards against losing a download when its sources come and go: a leaving source's chunks
// go back to the queue, a joining source picks them up, and no request goes to a source
// after it left.
TEST(DownloadSession, SourcesLeaveAndJoin) {
  Peer leaving{20e6};
  leaving.leave_at = 1s;
  Peer late{20e6};
  late.join_at = 3s;
  Sim sim(chunks(60), {{"a", leaving}, {"b", late}});
  sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_GT(sim.session.planner()->completed_by("b"), 30 * kMiB);
  // Between the two, nothing arrived and the progress said so: waiting for peers.
  bool waiting = false;
  for (const auto& r : sim.reports)
    waiting |= r.at > 2500ms && r.at < 3s && r.p.phase == DownloadPhase::waiting_for_peers &&
               r.p.stalled_seconds >= 1 && r.p.active_peers == 0;
  EXPECT_TRUE(waiting);

  Peer gone{20e6};
  gone.leave_at = 1s;
  Sim alone(chunks(60), {{"a", gone}});
  const double took = alone.run();
  ASSERT_TRUE(alone.failure);
  EXPECT_EQ(alone.failure->reason,
            "no peer has version 7 of 'g' any more (every peer that offered it left)");
  EXPECT_NEAR(took, 601.0, 0.1);
}

// Guards against cancel waiting for a stalled source: every request is cancelled and the
// session ends in the same call.
TEST(DownloadSession, CancelWithASilentSourceIsImmediate) {
  Sim sim(chunks(10), {{"mute", {10e6, Behaviour::silent}}});
  sim.run(5s);
  ASSERT_FALSE(sim.session.ended());
  ASSERT_EQ(sim.running.size(), 4u);
  sim.session.cancel(sim.now);
  sim.apply();
  EXPECT_TRUE(sim.session.ended());
  ASSERT_TRUE(sim.failure);
  EXPECT_EQ(sim.failure->cause, FailCause::cancelled);
  EXPECT_TRUE(sim.running.empty());  // every request got a CancelRequest
  EXPECT_EQ(sim.session.running_requests(), 0u);
}

// Guards against a download that fails 10 s after its last source went away: it waits in
// waiting_for_peers (reported, and counted as a stall) and goes on when the source comes back,
// minutes later; none of its bytes are fetched twice.
TEST(DownloadSession, WaitsForPeersAndGoesOnWhenOneReturns) {
  Peer back{20e6};
  back.leave_at = 1s;
  back.rejoin_at = 240s;
  Sim sim(chunks(60), {{"a", back}});
  sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  EXPECT_TRUE(sim.reported(DownloadPhase::waiting_for_peers, 1s, 2s));
  EXPECT_TRUE(sim.reported(DownloadPhase::waiting_for_peers, 230s, 239s));
  EXPECT_TRUE(sim.reported(DownloadPhase::downloading, 240s, 241s));
  EXPECT_FALSE(sim.reported(DownloadPhase::downloading, 2s, 239s));
  EXPECT_EQ(sim.session.planner()->completed_by("a"), 60 * kMiB);

  // While waiting, a cancel ends the download at once.
  Peer gone{20e6};
  gone.leave_at = 1s;
  Sim cancelled(chunks(60), {{"a", gone}});
  cancelled.run(100s);
  ASSERT_FALSE(cancelled.session.ended());
  EXPECT_EQ(cancelled.session.phase(), DownloadPhase::waiting_for_peers);
  cancelled.session.cancel(cancelled.now);
  cancelled.apply();
  ASSERT_TRUE(cancelled.failure);
  EXPECT_EQ(cancelled.failure->cause, FailCause::cancelled);

  // The wait is bounded by the setting, and its failure names the version.
  DownloadSettings short_wait;
  short_wait.peer_wait = 30s;
  Sim bounded(chunks(60), {{"a", gone}}, short_wait);
  EXPECT_NEAR(bounded.run(), 31.0, 0.1);
  ASSERT_TRUE(bounded.failure);
  EXPECT_EQ(bounded.failure->reason,
            "no peer has version 7 of 'g' any more (every peer that offered it left)");
}

// Guards against losing a source for good after an outage: a source dropped for silence is
// taken back when it answers again, not before its back-off, and finishes the download; one
// that sent corrupt data is never taken back.
TEST(DownloadSession, DroppedSourceIsTakenBackWhenItAnswers) {
  Peer flaky{20e6, Behaviour::silent};
  flaky.recover_at = 60s;
  Sim sim(chunks(30), {{"a", flaky}});
  sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  // Dropped at 36 s (three silent episodes), waiting since; taken back at its first answer.
  EXPECT_TRUE(sim.reported(DownloadPhase::waiting_for_peers, 36s, 37s));
  ASSERT_EQ(sim.readmitted["a"].size(), 1u);
  EXPECT_EQ(sim.readmitted["a"].front(), sim.recovered_at["a"]);
  EXPECT_EQ(sim.session.planner()->completed_by("a"), 30 * kMiB);

  // Answering before the back-off (5 s after the drop) is over does not bring it back.
  Peer quick{20e6, Behaviour::silent};
  quick.recover_at = 37s;
  Sim early(chunks(30), {{"a", quick}});
  early.run();
  ASSERT_TRUE(early.finished);
  ASSERT_EQ(early.readmitted["a"].size(), 1u);
  EXPECT_GE(early.readmitted["a"].front(), 41s);

  // Corrupt data: dropped for good, however often it answers.
  Sim liar(chunks(4), {{"l", {50e6, Behaviour::corrupt}}});
  liar.run(20s);
  ASSERT_FALSE(liar.session.ended());
  EXPECT_FALSE(liar.session.source_dropped("l"));
  EXPECT_FALSE(liar.session.source_answered("l", liar.now + 600s));
}

// Guards against a delta update's reused chunks showing as speed, and a bar that starts at 0
// when most of the game is already there.
TEST(DownloadSession, ReusedBytesAreNotSpeed) {
  Sim sim(chunks(4), {{"a", {8e6}}}, {}, 400 * kMiB);
  sim.run();
  ASSERT_TRUE(sim.finished);
  const auto reports = sim.downloading_reports();
  ASSERT_FALSE(reports.empty());
  EXPECT_EQ(reports.front().p.done, 400 * kMiB);
  EXPECT_EQ(reports.front().p.verified, 400 * kMiB);
  EXPECT_EQ(reports.front().p.total, 404 * kMiB);
  EXPECT_EQ(reports.front().p.bytes_per_second, 0u);
  EXPECT_FALSE(reports.front().p.eta_seconds);
  for (const auto& r : reports) EXPECT_LE(r.p.bytes_per_second, 8.8e6);
  EXPECT_EQ(sim.session.reused_bytes(), 400 * kMiB);
}

// Guards against an end-game copy's bytes counting without a check: a chunk two requests
// wrote into is re-hashed on disk, and the loser is cancelled.
TEST(DownloadSession, EndGameCopiesAreRechecked) {
  Sim sim(chunks(20), {{"fast", {200e6}}, {"crawl", {0.5e6}}});
  const double took = sim.run();
  ASSERT_TRUE(sim.finished);
  EXPECT_GT(sim.rechecks, 0u);
  EXPECT_GT(sim.cancels, 0u);
  EXPECT_LT(took, 2.0);  // without end-game the crawler's chunks take 8 s
  EXPECT_EQ(sim.sealed_chunks.size(), 20u);
}

// Guards against version.ini waiting forever on a peer that does not send it.
TEST(DownloadSession, SentinelFromAnotherSourceWhenOneIsSilent) {
  Peer fast{40e6};
  fast.silent_sentinel = true;
  Sim sim(chunks(20), {{"fast", fast}, {"slow", {10e6}}});
  sim.run();
  ASSERT_TRUE(sim.finished);
  EXPECT_EQ(sim.sentinel_sources, (std::vector<SourceId>{"fast", "slow"}));

  Peer mute{40e6};
  mute.silent_sentinel = true;
  Sim none(chunks(2), {{"only", mute}});
  none.run();
  ASSERT_TRUE(none.failure);
  EXPECT_EQ(none.failure->reason,
            "no peer that offers 'g' sent a correct version.ini (last: no data for 10 s)");
}

// Guards against our own disk errors being blamed on peers or retried forever.
TEST(DownloadSession, LocalErrorFailsAtOnce) {
  Sim sim(chunks(10), {{"a", {10e6}}});
  sim.run(300ms);
  sim.session.local_error("writing 'x' failed: no space left on device", sim.now);
  sim.apply();
  ASSERT_TRUE(sim.failure);
  EXPECT_EQ(sim.failure->cause, FailCause::local);
  EXPECT_TRUE(sim.running.empty());
}

// Guards against a silent check phase: the local check reports its progress and can be
// cancelled before any request starts.
TEST(DownloadSession, CheckingReportsAndCancels) {
  DownloadSession s("g", "7", {"a"}, {}, Clock::time_point{});
  auto t = Clock::time_point{};
  std::vector<DownloadProgress> seen;
  for (int i = 1; i <= 20; ++i) {
    t += 100ms;
    s.check_progress(static_cast<std::uint64_t>(i) * 10, 200, t);
    for (auto& a : s.take_actions())
      if (auto* r = std::get_if<ReportProgress>(&a)) seen.push_back(r->progress);
  }
  ASSERT_GE(seen.size(), 7u);
  EXPECT_EQ(seen.back().phase, DownloadPhase::checking);
  EXPECT_EQ(seen.back().total, 200u);
  s.cancel(t);
  auto actions = s.take_actions();
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(std::get<Fail>(actions[0]).cause, FailCause::cancelled);
  s.checked({kMiB}, 0, t);  // the check's late answer changes nothing
  EXPECT_TRUE(s.take_actions().empty());
}

// Guards against any corner of the state machine: random sources, speeds, behaviours,
// departures and arrivals; every download ends (finished or failed with a reason), every
// chunk is sealed once when it finishes, no request outlives the end.
TEST(DownloadSession, RandomisedInvariants) {
  std::mt19937 rng(99);
  for (int trial = 0; trial < 60; ++trial) {
    std::map<SourceId, Peer> peers;
    const int n = std::uniform_int_distribution<int>(1, 4)(rng);
    bool any_good = false;
    for (int i = 0; i < n; ++i) {
      Peer p{std::uniform_real_distribution<double>(1e6, 50e6)(rng)};
      const int b = std::uniform_int_distribution<int>(0, 9)(rng);
      p.behaviour = b < 6   ? Behaviour::ok
                    : b < 7 ? Behaviour::silent
                    : b < 8 ? Behaviour::corrupt
                            : Behaviour::refuse;
      if (std::uniform_int_distribution<int>(0, 4)(rng) == 0)
        p.join_at = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
      if (std::uniform_int_distribution<int>(0, 4)(rng) == 0)
        p.leave_at = std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 3000)(rng));
      // A good source that is there at the end (one leaving before it joins joins again).
      any_good |=
          p.behaviour == Behaviour::ok && (!p.leave_at || (p.join_at && *p.join_at > *p.leave_at));
      peers["s" + std::to_string(i)] = p;
    }
    const std::size_t count = std::uniform_int_distribution<std::size_t>(0, 30)(rng);
    DownloadSettings settings;
    settings.peer_wait = 60s;  // every run ends well within the limit
    Sim sim(chunks(count), peers, settings);
    sim.run(600s);
    ASSERT_TRUE(sim.session.ended()) << "trial " << trial;
    EXPECT_TRUE(sim.finished || sim.failure) << "trial " << trial;
    if (any_good) EXPECT_TRUE(sim.finished) << "trial " << trial << ": " << sim.failure->reason;
    if (sim.failure) EXPECT_FALSE(sim.failure->reason.empty());
    if (sim.finished) {
      auto sealed = sim.sealed_chunks;
      std::sort(sealed.begin(), sealed.end());
      EXPECT_EQ(std::unique(sealed.begin(), sealed.end()) - sealed.begin(),
                static_cast<std::ptrdiff_t>(count))
          << "trial " << trial;
    }
    EXPECT_EQ(sim.session.running_requests(), 0u);
  }
}

// Guards against the tail of a download from sources of different speeds: a slow source
// left holding the last chunks (or several at once, each at a fraction of its speed) while the
// fast ones idle. Three sources at 200, 100 and 25 Mbit/s end within a few percent of the
// time their summed speed allows, for games of 448 MiB to 1 GiB, and little is fetched twice.
TEST(DownloadSession, SourcesOfDifferentSpeedsEndTogether) {
  for (std::size_t n = 56; n <= 128; n += 8) {
    Sim sim(chunks(n, 8 * kMiB), {{"a200", {25e6}}, {"b100", {12.5e6}}, {"c25", {3.125e6}}});
    const double took = sim.run();
    ASSERT_TRUE(sim.finished) << n;
    const double ideal = static_cast<double>(n * 8 * kMiB) / 40.625e6;
    EXPECT_LT(took, ideal * 1.03) << n << " chunks";
    EXPECT_LE(sim.session.network_bytes(), (n + 2) * 8 * kMiB) << n;
  }
}

// Guards against an end-game that depends on the source it copies from: the slow holder of
// the last chunk leaves while a fast source copies it, and the copy finishes the download;
// nothing is asked of the source that left, and every chunk is sealed once.
TEST(DownloadSession, SourceLeavesDuringEndGame) {
  Peer slow{1e6};
  slow.leave_at = 3s;
  Sim sim(chunks(12, 4 * kMiB), {{"fast", {20e6}}, {"slow", slow}});
  sim.run();
  ASSERT_TRUE(sim.finished) << (sim.failure ? sim.failure->reason : "");
  ASSERT_FALSE(sim.duplicates.empty());  // the fast source copied the slow one's chunk
  EXPECT_LT(sim.duplicates.front().second, 3s);
  auto sealed = sim.sealed_chunks;
  std::sort(sealed.begin(), sealed.end());
  EXPECT_EQ(std::unique(sealed.begin(), sealed.end()), sealed.end());
  EXPECT_EQ(sealed.size(), 12u);
  EXPECT_EQ(sim.reports.back().p.verified, 12 * 4 * kMiB);
}

// Guards against a chunk fetched twice (end-game) being written or counted twice: both copies
// arrive before the first is sealed; one seal is asked for, the bytes verified count the chunk
// once, and progress never goes past the total.
TEST(DownloadSession, CopyArrivingTwiceIsSealedAndCountedOnce) {
  const auto t0 = Clock::time_point{};
  DownloadSession session("g", "7", {"a", "b"}, {}, t0);
  std::vector<DownloadAction> actions;
  auto take = [&] {
    auto more = session.take_actions();
    actions.insert(actions.end(), more.begin(), more.end());
  };
  std::vector<FetchChunk> fetches;
  std::vector<SealChunk> seals;
  std::vector<DownloadProgress> reports;
  auto sort = [&] {
    take();
    for (auto& a : std::exchange(actions, {})) {
      if (auto* f = std::get_if<FetchChunk>(&a)) fetches.push_back(*f);
      if (auto* s = std::get_if<SealChunk>(&a)) seals.push_back(*s);
      if (auto* r = std::get_if<ReportProgress>(&a)) reports.push_back(r->progress);
    }
  };
  session.checked({kMiB, kMiB}, 0, t0);
  sort();
  ASSERT_EQ(fetches.size(), 2u);  // one chunk each
  const FetchChunk first_a = fetches[0].source == "a" ? fetches[0] : fetches[1];
  const FetchChunk first_b = fetches[0].source == "a" ? fetches[1] : fetches[0];
  // "a" delivers its chunk within a second; "b" only answers the header.
  session.bytes_received(first_b.id, 0, t0);
  for (int i = 1; i <= 10; ++i) {
    const auto t = t0 + i * 100ms;
    session.bytes_received(first_a.id, kMiB / 10, t);
    session.tick(t);
  }
  session.request_done(first_a.id, t0 + 1s);
  sort();
  ASSERT_EQ(seals.size(), 1u);
  session.chunk_sealed(seals[0].id, true, t0 + 1s);
  session.tick(t0 + 1500ms);
  sort();
  // "a" is idle and fast, "b" sent nothing: "a" copies b's chunk.
  ASSERT_EQ(fetches.size(), 3u);
  const FetchChunk copy = fetches[2];
  EXPECT_TRUE(copy.duplicate);
  EXPECT_EQ(copy.source, "a");
  EXPECT_EQ(copy.chunk, first_b.chunk);
  // Both copies arrive whole before either is sealed.
  session.bytes_received(copy.id, kMiB, t0 + 1600ms);
  session.bytes_received(first_b.id, kMiB, t0 + 1600ms);
  session.request_done(copy.id, t0 + 1600ms);
  session.request_done(first_b.id, t0 + 1600ms);
  session.tick(t0 + 1600ms);
  sort();
  ASSERT_EQ(seals.size(), 2u);  // one more: the second copy follows the first's seal
  EXPECT_EQ(seals[1].chunk, first_b.chunk);
  EXPECT_TRUE(seals[1].recheck);
  for (const auto& r : reports) {
    EXPECT_LE(r.done, 2 * kMiB);
    EXPECT_LE(r.verified, 2 * kMiB);
  }
  session.chunk_sealed(seals[1].id, true, t0 + 1700ms);
  EXPECT_EQ(session.planner()->bytes_done(), 2 * kMiB);
  EXPECT_EQ(session.running_requests(), 1u);  // version.ini
  EXPECT_TRUE(session.planner()->finished());
  EXPECT_EQ(session.planner()->completed_by("a") + session.planner()->completed_by("b"), 2 * kMiB);
}

}  // namespace
}  // namespace lanspread::transfer
