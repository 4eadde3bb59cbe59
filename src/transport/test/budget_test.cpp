// Connection slots, the shared send budget and the deadlines that free them: the accounting
// alone, then the connection core over the simulated link with a virtual clock.
#include "transport/budget.hpp"
#include "sim_link.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <optional>

namespace lanspread::transport {
namespace {

using namespace std::chrono_literals;
using testing::make_identity;
using testing::SimNet;

Host host(const char* ip) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  inet_pton(AF_INET, ip, &in.sin_addr);
  return Host::of(Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in));
}

const void* key(std::uintptr_t n) {
  return reinterpret_cast<const void*>(n);
}

// Guards against one source address taking more than its share of the send budget, and
// against the total being exceeded however many addresses ask.
TEST(SendBudget, CapsEachHostAndTheTotal) {
  SendBudget b(100, 40);
  EXPECT_EQ(b.grant(host("10.0.0.1"), 50), 40u);
  EXPECT_EQ(b.grant(host("10.0.0.1"), 1), 0u);
  EXPECT_EQ(b.grant(host("10.0.0.2"), 40), 40u);
  EXPECT_EQ(b.grant(host("10.0.0.3"), 40), 20u);  // the total is left
  EXPECT_EQ(b.used(), 100u);
  EXPECT_FALSE(b.take_released());
  b.release(host("10.0.0.1"), 30);
  EXPECT_TRUE(b.take_released());  // someone was refused: waiters must retry
  EXPECT_FALSE(b.take_released());
  EXPECT_EQ(b.room_for(host("10.0.0.1")), 30u);
  b.settle(false);  // every waiter was woken
  b.release(host("10.0.0.2"), 1);
  EXPECT_FALSE(b.take_released());
  b.grant(host("10.0.0.2"), 1);
  EXPECT_EQ(b.used_by(host("10.0.0.1")), 10u);
  EXPECT_EQ(b.grant(host("10.0.0.4"), 40), 30u);
  // Releasing more than was charged cannot underflow the books.
  b.release(host("10.0.0.2"), 1000);
  EXPECT_EQ(b.used_by(host("10.0.0.2")), 0u);
  EXPECT_EQ(b.used(), 60u);
}

// Guards against one address holding more incoming connections than its cap.
TEST(ConnectionSlots, CapsIncomingPerHost) {
  ConnectionSlots s(256, 256, 8);
  for (std::uintptr_t i = 1; i <= 8; ++i) {
    ASSERT_TRUE(s.admit_incoming(host("10.0.0.1")).admit);
    s.add(key(i), host("10.0.0.1"), true);
  }
  EXPECT_FALSE(s.admit_incoming(host("10.0.0.1")).admit);
  EXPECT_TRUE(s.admit_incoming(host("10.0.0.2")).admit);
  s.remove(key(3));
  EXPECT_TRUE(s.admit_incoming(host("10.0.0.1")).admit);
  EXPECT_EQ(s.incoming(), 7u);
}

// Guards against incoming and outgoing connections sharing one budget: a flood of incoming
// connections must not stop us dialling, nor our dials stop others reaching us.
TEST(ConnectionSlots, IncomingAndOutgoingAreSeparate) {
  ConnectionSlots s(2, 2, 8);
  s.add(key(1), host("10.0.0.1"), true);
  s.add(key(2), host("10.0.0.2"), true);
  EXPECT_TRUE(s.admit_outgoing());
  s.add(key(3), host("10.0.0.3"), false);
  s.add(key(4), host("10.0.0.4"), false);
  EXPECT_FALSE(s.admit_outgoing());
  s.remove(key(4));
  EXPECT_TRUE(s.admit_outgoing());
  EXPECT_EQ(s.outgoing(), 1u);
}

// Guards against a few addresses locking everyone out by filling every incoming slot: a
// newcomer from another address evicts the newest unproven connection of the address that
// holds the most, then the newest proven one, but never a peer we dialled ourselves.
TEST(ConnectionSlots, FullSlotsEvictFromTheBiggestHolder) {
  ConnectionSlots s(6, 4, 4);
  // a: 4 connections (1 and 2 proven, 1 as a peer we dialled), b: 2 proven.
  for (std::uintptr_t i = 1; i <= 4; ++i) s.add(key(i), host("10.0.0.1"), true);
  s.add(key(5), host("10.0.0.2"), true);
  s.add(key(6), host("10.0.0.2"), true);
  s.proven(key(1), "known");
  s.proven(key(2), "stranger");
  s.proven(key(5), "b1");
  s.proven(key(6), "b2");
  s.add(key(100), host("10.0.0.9"), false);
  s.proven(key(100), "known");  // our own dial proved "known"

  auto d = s.admit_incoming(host("10.0.0.3"));
  ASSERT_TRUE(d.admit);
  EXPECT_EQ(d.evict, key(4));  // the newest unproven of the biggest holder
  s.remove(key(4));
  s.add(key(7), host("10.0.0.3"), true);
  d = s.admit_incoming(host("10.0.0.4"));
  ASSERT_TRUE(d.admit);
  EXPECT_EQ(d.evict, key(3));
  s.remove(key(3));
  s.add(key(8), host("10.0.0.4"), true);
  // a holds 2 proven connections now, as many as b: a newcomer takes a's stranger, never
  // the known peer; then nobody holds more than a newcomer would.
  d = s.admit_incoming(host("10.0.0.5"));
  ASSERT_TRUE(d.admit);
  EXPECT_TRUE(d.evict == key(2) || d.evict == key(6)) << d.evict;
  s.remove(d.evict);
  s.add(key(9), host("10.0.0.5"), true);
  d = s.admit_incoming(host("10.0.0.6"));
  if (d.admit) EXPECT_NE(d.evict, key(1));
  // An address that already holds as many as the biggest holder is refused, not let in by
  // evicting someone else's slot.
  ConnectionSlots t(2, 2, 8);
  t.add(key(1), host("10.0.0.1"), true);
  t.add(key(2), host("10.0.0.2"), true);
  EXPECT_FALSE(t.admit_incoming(host("10.0.0.1")).admit);
  EXPECT_FALSE(t.admit_incoming(host("10.0.0.3")).admit);
}

// ---- the core over the simulated link ------------------------------------------------------

TransportSettings fast_settings() {
  TransportSettings s;
  s.idle_timeout = 20s;
  s.keep_alive = 1s;
  s.handshake_timeout = 3s;
  s.send_stall_timeout = 2s;
  s.unused_timeout = 5s;
  s.stream_send_buffer = 1 << 20;
  return s;
}

struct Net : testing::SimPair {
  explicit Net(TransportSettings client = fast_settings(),
               TransportSettings server = fast_settings())
      : SimPair(std::move(client), std::move(server)) {}
  ConnectionCore* dial() { return SimPair::dial(server_id->peer_id()); }
};

// Guards against a reader that never reads holding the sender's budget forever: the
// server's stream fills its buffer, makes no progress, and is reset after the send-stall
// timeout; its bytes leave the budget and the waiting writer learns of the reset.
TEST(TransportBudget, StreamThatNeverDrainsIsResetAndFreesTheBudget) {
  Net n;
  ConnectionCore* c = n.dial();
  ASSERT_TRUE(n.net.run_until([&] { return c->established(); }));
  auto sid = c->open_stream();
  ASSERT_TRUE(sid);
  const std::uint8_t req[] = {'q'};
  ASSERT_TRUE(c->stream_write(*sid, req));
  std::int64_t server_sid = -1;
  std::vector<std::uint8_t> block(256 << 10, 0x5a);
  bool stalled_event = false;
  std::optional<boost::system::error_code> refused;
  n.net.on_step = [&] {
    ConnectionCore* s = n.server_conn();
    if (s == nullptr) return;
    for (const auto& e : s->take_events()) {
      if (e.kind == CoreEvent::stream_opened) server_sid = e.stream_id;
      if (e.stream_id == server_sid && e.code == kAppSendStalled) stalled_event = true;
    }
    if (server_sid < 0 || refused) return;
    for (;;) {  // the client never reads: flow control stops the stream
      auto w = s->stream_write(server_sid, block);
      if (!w) {
        refused = w.error();
        break;
      }
      if (*w == 0) break;
    }
  };
  ASSERT_TRUE(n.net.run_until([&] { return n.server_ep.send_budget().used() > 0; }));
  ASSERT_TRUE(n.net.run_until([&] { return refused.has_value(); }, 30'000'000'000ULL));
  EXPECT_EQ(*refused, errc::stream_reset);
  EXPECT_TRUE(stalled_event);  // the waiting writer was told
  EXPECT_EQ(n.server_ep.send_budget().used(), 0u);
  EXPECT_EQ(n.server_conn()->stream_reset_code(server_sid), kAppSendStalled);
}

// Guards against a writer waiting forever for room in a shared budget that others hold:
// its wait has the send-stall deadline too.
TEST(TransportBudget, WaitForBudgetEndsAtTheStallDeadline) {
  TransportSettings server = fast_settings();
  server.send_budget_per_host = 64 << 10;
  Net n(fast_settings(), server);
  ConnectionCore* c = n.dial();
  ASSERT_TRUE(n.net.run_until([&] { return c->established(); }));
  const std::uint8_t req[] = {'q'};
  auto first = c->open_stream();
  auto second = c->open_stream();
  ASSERT_TRUE(first && second);
  ASSERT_TRUE(c->stream_write(*first, req));
  ASSERT_TRUE(c->stream_write(*second, req));
  std::vector<std::int64_t> opened;
  ASSERT_TRUE(n.net.run_until([&] {
    if (ConnectionCore* s = n.server_conn())
      for (const auto& e : s->take_events())
        if (e.kind == CoreEvent::stream_opened) opened.push_back(e.stream_id);
    return opened.size() == 2;
  }));
  ConnectionCore* s = n.server_conn();
  auto got = s->stream_reserve(opened[0], 64 << 10);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, std::size_t{64 << 10});
  auto none = s->stream_reserve(opened[1], 1);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, 0u);  // the host's share is taken: wait
  ASSERT_TRUE(n.net.run_until([&] { return s->stream_reserve(opened[1], 1).has_error(); },
                              10'000'000'000ULL));
  EXPECT_EQ(n.server_ep.send_budget().used(), 0u);  // both reset, nothing held
}

// Guards against connections that hold a slot without ever using it: an established
// connection with no stream is closed after the unused timeout, while one that opens a
// stream now and then (as a peer's pings do) stays.
TEST(TransportBudget, UnusedConnectionIsClosedUsedOneStays) {
  Net n;
  ConnectionCore* c = n.dial();
  ASSERT_TRUE(n.net.run_until([&] { return c->established(); }));
  // Used: a short request every 2 s for 20 s.
  for (int i = 0; i < 10; ++i) {
    auto sid = c->open_stream();
    ASSERT_TRUE(sid);
    ASSERT_TRUE(c->stream_finish(*sid));
    n.net.run_until([] { return false; }, 2'000'000'000ULL);
    c->stream_release(*sid);
    if (ConnectionCore* s = n.server_conn()) {
      for (const auto& e : s->take_events())
        if (e.kind == CoreEvent::stream_opened) s->stream_release(e.stream_id);
    }
    ASSERT_FALSE(c->is_closing()) << i;
  }
  // Unused from now on: both sides close it.
  ConnectionCore* s = n.server_conn();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(
      n.net.run_until([&] { return c->is_closing() && s->is_closing(); }, 10'000'000'000ULL));
  EXPECT_TRUE(c->close_reason() == errc::unused_timeout ||
              s->close_reason() == errc::unused_timeout);
}

// Guards against a peer that finishes TLS but never proves the party key keeping its
// connection: the handshake deadline covers the proof, and the connection never counts
// as established.
TEST(TransportBudget, PartyProofIsPartOfTheHandshakeDeadline) {
  std::array<std::uint8_t, 32> key{};
  key.fill(3);
  TransportSettings mute = fast_settings();
  mute.party_key = key;
  mute.send_party_proof = false;
  TransportSettings server = fast_settings();
  server.party_key = key;
  Net n(mute, server);
  ConnectionCore* c = n.dial();
  ASSERT_TRUE(n.net.run_until([&] { return n.server_conn() != nullptr; }));
  ConnectionCore* s = n.server_conn();
  ASSERT_TRUE(n.net.run_until([&] { return s->is_closing(); }, 5'000'000'000ULL));
  EXPECT_FALSE(s->established());
  EXPECT_EQ(s->close_reason(), errc::handshake_timeout);
  // The client saw the server's proof and counts itself established; the server does not.
  EXPECT_TRUE(c->established());
}

// Guards against one address taking every incoming slot: the third connection from the
// same address (cap 2) is never admitted, while another address still gets in.
TEST(TransportBudget, PerHostCapHoldsOverTheWire) {
  TransportSettings server = fast_settings();
  server.max_incoming_per_host = 2;
  Net n(fast_settings(), server);
  std::vector<ConnectionCore*> dials;
  for (int i = 0; i < 3; ++i) dials.push_back(n.dial());
  n.net.run_until([] { return false; }, 4'000'000'000ULL);
  const auto established =
      std::count_if(dials.begin(), dials.end(), [](ConnectionCore* d) { return d->established(); });
  EXPECT_EQ(established, 2);
  EXPECT_EQ(n.server_ep.slots().incoming(), 2u);
  EXPECT_EQ(n.server_ep.slots().incoming_from(Host::of(n.net.address(n.a))), 2u);
}

}  // namespace
}  // namespace lanspread::transport
