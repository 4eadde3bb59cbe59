#include "runtime/fetch_gate.hpp"
#include "runtime/peer_game_db.hpp"

#include <gtest/gtest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <numeric>
#include <optional>

namespace lanspread::runtime {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Guards against many peers at once making the runtime fetch (and decode) many manifests or
// game lists together: however many ask, at most `limit` run, and every one runs in the end.
TEST(FetchGate, RunsAtMostItsLimitAndEveryoneInTurn) {
  asio::io_context io;
  FetchGate gate(io.get_executor(), 4);
  std::size_t running = 0, most = 0, done = 0;
  std::vector<int> order;
  for (int i = 0; i < 20; ++i) {
    asio::co_spawn(
        io,
        [&, i]() -> asio::awaitable<void> {
          auto permit = co_await gate.acquire();
          most = std::max(most, ++running);
          order.push_back(i);
          asio::steady_timer t(io, 1ms);
          co_await t.async_wait(asio::use_awaitable);
          --running;
          ++done;
        },
        asio::detached);
  }
  io.run();
  EXPECT_EQ(most, 4u);
  EXPECT_EQ(done, 20u);
  std::vector<int> expected(20);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);  // arrival order
  EXPECT_EQ(gate.running(), 0u);
}

// Guards against a cancelled waiter (a cancelled download) keeping its place or losing the
// gate a slot for good.
TEST(FetchGate, ACancelledWaiterLeavesWithoutTakingASlot) {
  asio::io_context io;
  FetchGate gate(io.get_executor(), 1);
  std::optional<FetchGate::Permit> held;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { held = co_await gate.acquire(); }, asio::detached);
  io.run_for(10ms);
  io.restart();
  ASSERT_TRUE(held);
  asio::cancellation_signal cancel;
  bool aborted = false;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { co_await gate.acquire(); },
      asio::bind_cancellation_slot(cancel.slot(),
                                   [&](std::exception_ptr e) { aborted = e != nullptr; }));
  io.run_for(10ms);
  io.restart();
  EXPECT_EQ(gate.waiting(), 1u);
  cancel.emit(asio::cancellation_type::terminal);
  io.run_for(10ms);
  io.restart();
  EXPECT_TRUE(aborted);
  EXPECT_EQ(gate.waiting(), 0u);
  held.reset();
  EXPECT_EQ(gate.running(), 0u);
  bool got = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto p = co_await gate.acquire();
        got = true;
      },
      asio::detached);
  io.run();
  EXPECT_TRUE(got);
}

// Guards against fetching, for every download, the manifest of a peer that lost the vote
// for the same version moments ago (up to 64 MiB decoded each time), and against keeping
// such a peer out for good or the memory growing without bound.
TEST(ManifestDissent, RemembersADissenterForAWhile) {
  ManifestDissent d(10min, 3);
  const auto t = Clock::now();
  proto::Sha256 bad, good;
  bad.bytes.fill(2);
  good.bytes.fill(1);
  d.remember("liar", "xonotic", "2", bad, t);
  EXPECT_TRUE(d.dissented("liar", "xonotic", "2", t + 1min));
  EXPECT_FALSE(d.dissented("liar", "xonotic", "3", t + 1min));  // another version is asked
  EXPECT_FALSE(d.dissented("honest", "xonotic", "2", t + 1min));
  EXPECT_FALSE(d.dissented("liar", "xonotic", "2", t + 11min));  // the window passed
  d.agreed("xonotic", "2", good);
  EXPECT_TRUE(d.dissented("liar", "xonotic", "2", t + 1min));
  d.agreed("xonotic", "2", bad);  // a later majority sided with it
  EXPECT_FALSE(d.dissented("liar", "xonotic", "2", t + 1min));
  for (int i = 0; i < 10; ++i) d.remember("p" + std::to_string(i), "g", "1", bad, t + i * 1s);
  EXPECT_EQ(d.size(), 3u);
  EXPECT_TRUE(d.dissented("p9", "g", "1", t + 10s));
  EXPECT_FALSE(d.dissented("p0", "g", "1", t + 10s));  // the oldest went first
}

}  // namespace
}  // namespace lanspread::runtime
