// The per-peer rates the Peers view shows: a transfer must show its real rate (not a
// one-second spike or a dip at each second's start), vanish after it ends, keep each
// peer's figures apart, and a stream of peer ids must not grow the table without bound.
#include "runtime/traffic_meter.hpp"

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

using namespace std::chrono_literals;
using Clock = TrafficMeter::Clock;

TEST(TrafficMeter, SteadyTransferShowsItsRateInBothDirectionsSeparately) {
  TrafficMeter m;
  const auto t0 = Clock::time_point(1000s);
  // 10 MB/s from a, 1 MB/s to a, for 5 s in 100 ms steps; nothing with b.
  for (int i = 0; i < 50; ++i) {
    m.add_received("a", 1'000'000, t0 + i * 100ms);
    m.add_sent("a", 100'000, t0 + i * 100ms);
  }
  const auto r = m.rates("a", t0 + 4950ms);
  EXPECT_DOUBLE_EQ(r.bytes_per_second_in, 10'000'000.0);
  EXPECT_DOUBLE_EQ(r.bytes_per_second_out, 1'000'000.0);
  EXPECT_EQ(r.bytes_in, 50'000'000u);
  EXPECT_EQ(r.bytes_out, 5'000'000u);
  const auto b = m.rates("b", t0 + 4950ms);
  EXPECT_EQ(b.bytes_in, 0u);
  EXPECT_DOUBLE_EQ(b.bytes_per_second_in, 0.0);
}

TEST(TrafficMeter, RateFallsToZeroAfterTheTransferEndsButTotalsStay) {
  TrafficMeter m;
  const auto t0 = Clock::time_point(2000s);
  for (int i = 0; i < 30; ++i) m.add_received("a", 1'000'000, t0 + i * 100ms);
  EXPECT_GT(m.rates("a", t0 + 3500ms).bytes_per_second_in, 0.0);
  const auto later = m.rates("a", t0 + 7s);
  EXPECT_DOUBLE_EQ(later.bytes_per_second_in, 0.0);
  EXPECT_EQ(later.bytes_in, 30'000'000u);
}

TEST(TrafficMeter, ManyPeerIdsKeepTheTableBoundedAndForgetTheIdlest) {
  TrafficMeter m(8);
  const auto t0 = Clock::time_point(3000s);
  m.add_received("busy", 1, t0);
  for (int i = 0; i < 100; ++i) {
    m.add_received("busy", 1, t0 + std::chrono::seconds(i + 1));
    m.add_received("id" + std::to_string(i), 1, t0 + std::chrono::seconds(i + 1));
  }
  EXPECT_EQ(m.tracked(), 8u);
  EXPECT_EQ(m.rates("busy", t0 + 101s).bytes_in, 101u);
  EXPECT_EQ(m.rates("id0", t0 + 101s).bytes_in, 0u);
}

}  // namespace
}  // namespace lanspread::runtime
