// The serving side of spread chunk requests (swarming), in virtual time.
#include "transfer/spread_ledger.hpp"

#include <gtest/gtest.h>

namespace lanspread::transfer {
namespace {

using namespace std::chrono_literals;
using Verdict = SpreadLedger::Verdict;
const SpreadLedger::Clock::time_point t0{};

SpreadLimits limits(std::size_t max_uploads, std::chrono::milliseconds recent,
                    std::size_t max_recent, std::chrono::milliseconds waiting = 2s,
                    std::size_t per_client = 64) {
  SpreadLimits l;
  l.max_uploads = max_uploads;
  l.max_uploads_per_client = per_client;
  l.recent = recent;
  l.max_recent = max_recent;
  l.waiting = waiting;
  l.max_waiting = 16;
  return l;
}

// Guards against a seeder sending the same chunk to two downloaders at once, which halves
// what its uplink spreads: the second asker is declined while the first upload runs and for
// `recent` after it ended whole, then served; the first asker itself is never refused.
TEST(SpreadLedger, OneChunkGoesToOneDownloaderAtATime) {
  SpreadLedger ledger(limits(4, 2s, 16));
  SpreadLedger::Ticket a = 0, b = 0, a2 = 0;
  EXPECT_EQ(ledger.admit("c1", "A", t0, a), Verdict::serve);
  EXPECT_EQ(ledger.admit("c1", "B", t0 + 1s, b), Verdict::duplicate);
  EXPECT_EQ(ledger.admit("c1", "A", t0 + 1s, a2), Verdict::serve);  // an end-game copy
  ledger.finished(a2, false, t0 + 1s);
  ledger.finished(a, true, t0 + 3s);
  EXPECT_EQ(ledger.admit("c1", "B", t0 + 4s, b), Verdict::duplicate);  // A offers it soon
  EXPECT_EQ(ledger.admit("c1", "B", t0 + 5s, b), Verdict::serve);
  ledger.finished(b, false, t0 + 5s);  // cut short: not remembered, C need not wait for it
  EXPECT_EQ(ledger.admit("c1", "C", t0 + 5s, b), Verdict::serve);
  EXPECT_EQ(ledger.uploads(), 1u);
}

// Guards against a seeder's uplink split over so many chunks that none arrives for a long
// time (only an arrived chunk can be passed on): beyond `max_uploads` spread uploads run at
// once, newcomers are declined until one ends.
TEST(SpreadLedger, BoundsTheUploadsAtOnce) {
  SpreadLedger ledger(limits(2, 0s, 16));
  SpreadLedger::Ticket t1 = 0, t2 = 0, t3 = 0;
  EXPECT_EQ(ledger.admit("c1", "A", t0, t1), Verdict::serve);
  EXPECT_EQ(ledger.admit("c2", "B", t0, t2), Verdict::serve);
  EXPECT_EQ(ledger.admit("c3", "C", t0, t3), Verdict::full);
  ledger.finished(t1, true, t0 + 1s);
  EXPECT_EQ(ledger.admit("c3", "C", t0 + 1s, t3), Verdict::serve);
  EXPECT_EQ(ledger.uploads(), 2u);

  // A client alone may have every turn (a lone downloader's requests stay pipelined); once
  // another client gets a chunk, at most `max_uploads_per_client` to each, even with room.
  SpreadLedger two(limits(4, 0s, 16, 2s, 1));
  SpreadLedger::Ticket t4 = 0, t5 = 0;
  EXPECT_EQ(two.admit("c1", "A", t0, t1), Verdict::serve);
  EXPECT_EQ(two.admit("c2", "A", t0, t2), Verdict::serve);
  EXPECT_EQ(two.admit("c3", "B", t0, t3), Verdict::serve);
  EXPECT_EQ(two.admit("c4", "B", t0, t4), Verdict::full);
  EXPECT_EQ(two.admit("c4", "A", t0, t4), Verdict::full);
  two.finished(t1, true, t0 + 1s);
  two.finished(t2, true, t0 + 1s);
  EXPECT_EQ(two.admit("c5", "A", t0 + 1s, t5), Verdict::serve);
  EXPECT_EQ(two.admit("c6", "A", t0 + 1s, t5), Verdict::full);  // B still gets one
  two.finished(t3, true, t0 + 2s);
  EXPECT_EQ(two.admit("c6", "A", t0 + 3s, t5), Verdict::serve);  // alone again
}

// Guards against one downloader holding every turn of a seeder's uplink (its chunks would be
// the only ones to pass on): alone it may take them all; once another waits, a client that
// already gets a chunk is not given a second one until the other had its turn.
TEST(SpreadLedger, SharesTheTurnsWithWaitingClients) {
  SpreadLedger ledger(limits(3, 0s, 16));
  SpreadLedger::Ticket t[6] = {};
  EXPECT_EQ(ledger.admit("c1", "A", t0, t[0]), Verdict::serve);
  EXPECT_EQ(ledger.admit("c2", "A", t0, t[1]), Verdict::serve);
  EXPECT_EQ(ledger.admit("c3", "A", t0, t[2]), Verdict::serve);
  EXPECT_EQ(ledger.admit("c4", "B", t0, t[3]), Verdict::full);
  ledger.finished(t[0], true, t0 + 100ms);
  EXPECT_EQ(ledger.admit("c5", "A", t0 + 100ms, t[4]), Verdict::full);  // kept for B
  EXPECT_EQ(ledger.admit("c5", "C", t0 + 150ms, t[4]), Verdict::full);  // kept for B
  EXPECT_EQ(ledger.admit("c4", "B", t0 + 200ms, t[3]), Verdict::serve);
  ledger.finished(t[1], true, t0 + 300ms);
  EXPECT_EQ(ledger.admit("c5", "A", t0 + 300ms, t[4]), Verdict::full);    // kept for C
  EXPECT_EQ(ledger.admit("c5", "A", t0 + 2500ms, t[4]), Verdict::serve);  // C gave up
  // A chunk of a version being downloaded (not `distinct`) may go to two clients at once.
  ledger.finished(t[2], true, t0 + 2600ms);
  EXPECT_EQ(ledger.admit("c5", "C", t0 + 2600ms, t[5], false), Verdict::serve);
}

// Guards against turns kept for waiting clients blocking everyone: clients that all wait
// (each declined once) are served as turns free up, never all refused.
TEST(SpreadLedger, WaitingClientsAreServed) {
  SpreadLedger ledger(limits(1, 0s, 16));
  SpreadLedger::Ticket t = 0, first = 0;
  ASSERT_EQ(ledger.admit("c0", "X", t0, first), Verdict::serve);
  for (const char* c : {"A", "B", "C"}) EXPECT_EQ(ledger.admit("c1", c, t0, t), Verdict::full);
  ledger.finished(first, true, t0 + 100ms);
  EXPECT_EQ(ledger.admit("c1", "C", t0 + 1s, t), Verdict::serve);
  EXPECT_EQ(ledger.admit("c2", "A", t0 + 1s, t), Verdict::full);
}

}  // namespace
}  // namespace lanspread::transfer
