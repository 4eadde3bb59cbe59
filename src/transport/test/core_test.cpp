// The sans-IO connection core driven over a simulated link with a virtual clock.
#include "sim_link.hpp"

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <set>

namespace lanspread::transport {
namespace {

using testing::make_identity;
using testing::SimNet;

TransportSettings fast_settings() {
  TransportSettings s;
  s.idle_timeout = std::chrono::milliseconds(2000);
  s.keep_alive = std::chrono::milliseconds(0);
  s.handshake_timeout = std::chrono::milliseconds(3000);
  return s;
}

// Client and server endpoints on a simulated link, with the tests' settings by default.
struct Pair : testing::SimPair {
  explicit Pair(TransportSettings client_settings = fast_settings(),
                TransportSettings server_settings = fast_settings(), std::uint32_t seed = 1)
      : SimPair(std::move(client_settings), std::move(server_settings), seed) {}
};

// Guards against a handshake that never completes or that mislabels who is on the other end.
TEST(TransportCore, HandshakeLearnsBothPeerIds) {
  Pair p;
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until(
      [&] { return c->established() && p.server_conn() && p.server_conn()->established(); }));
  EXPECT_EQ(c->peer_id(), p.server_id->peer_id());
  EXPECT_EQ(p.server_conn()->peer_id(), p.client_id->peer_id());
}

// Guards against talking to an impostor: a server whose certificate is not the dialled id.
TEST(TransportCore, WrongPeerIdIsRejected) {
  Pair p;
  ConnectionCore* c = p.dial(std::string(64, 'a'));
  ASSERT_TRUE(p.net.run_until([&] { return c->is_closing(); }));
  EXPECT_FALSE(c->established());
  EXPECT_EQ(c->close_reason(), errc::peer_id_mismatch);
}

// Guards against speaking to a QUIC server of another protocol.
TEST(TransportCore, AlpnMismatchIsRejected) {
  TransportSettings other = fast_settings();
  other.alpn = "hq-interop";
  Pair p(other, fast_settings());
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until([&] { return c->is_closing(); }));
  EXPECT_FALSE(c->established());
  EXPECT_EQ(c->close_reason(), errc::alpn_mismatch);
}

// Moves `size` bytes client -> server on one stream while the link loses and reorders
// packets, and checks the bytes that arrive.
void transfer(Pair& p, std::size_t size) {
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until([&] { return c->established(); }));
  auto sid = c->open_stream();
  ASSERT_TRUE(sid);
  std::vector<std::uint8_t> data(size);
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<std::uint8_t>(i * 2654435761u >> 24);
  std::size_t written = 0;
  bool finished = false;
  std::vector<std::uint8_t> got;
  bool fin = false;
  std::int64_t server_sid = -1;
  p.net.on_step = [&] {
    while (written < size) {
      auto n = c->stream_write(*sid, std::span(data).subspan(written));
      ASSERT_TRUE(n);
      if (*n == 0) break;
      written += *n;
    }
    if (written == size && !finished) {
      ASSERT_TRUE(c->stream_finish(*sid));
      finished = true;
    }
    ConnectionCore* s = p.server_conn();
    if (s == nullptr) return;
    for (const auto& e : s->take_events())
      if (e.kind == CoreEvent::stream_opened) server_sid = e.stream_id;
    if (server_sid < 0) return;
    std::uint8_t buf[100'000];
    for (;;) {
      auto n = s->stream_read(server_sid, buf, &fin);
      ASSERT_TRUE(n);
      if (*n == 0) break;
      got.insert(got.end(), buf, buf + *n);
    }
  };
  ASSERT_TRUE(p.net.run_until([&] { return fin; }, 120'000'000'000ULL));
  EXPECT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data);
}

// Guards against corruption or stalls of stream data on a clean link.
TEST(TransportCore, StreamTransferClean) {
  Pair p;
  transfer(p, 20 << 20);
}

// Guards against loss and reordering corrupting or stalling a stream (retransmission and
// flow-control credit must keep working).
TEST(TransportCore, StreamTransferWithLossAndReordering) {
  Pair p(fast_settings(), fast_settings(), 7);
  p.net.loss = 0.05;
  p.net.jitter = 2'000'000;  // up to 2 ms extra: heavy reordering
  transfer(p, 4 << 20);
  EXPECT_GT(p.net.dropped, 0u);
}

// Guards against a vanished peer keeping a connection (and its streams) alive forever.
TEST(TransportCore, SilentPeerHitsIdleTimeout) {
  Pair p;
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until([&] { return c->established(); }));
  p.net.blackhole = true;
  ASSERT_TRUE(p.net.run_until([&] { return c->is_closed(); }, 10'000'000'000ULL));
  EXPECT_EQ(c->close_reason(), errc::idle_timeout);
}

// Guards against party-key mode letting in peers without the key, or locking out peers with it.
TEST(TransportCore, PartyKey) {
  std::array<std::uint8_t, 32> key{};
  key.fill(7);
  std::array<std::uint8_t, 32> other{};
  other.fill(9);
  auto with = [](std::optional<std::array<std::uint8_t, 32>> k) {
    TransportSettings s = fast_settings();
    s.party_key = k;
    return s;
  };
  {
    Pair p(with(key), with(key));
    ConnectionCore* c = p.dial(p.server_id->peer_id());
    ASSERT_TRUE(p.net.run_until(
        [&] { return c->established() && p.server_conn() && p.server_conn()->established(); }));
    EXPECT_TRUE(c->open_stream());
  }
  for (auto [ck, sk] :
       {std::pair{std::optional(key), std::optional(other)},
        std::pair{std::optional<std::array<std::uint8_t, 32>>(), std::optional(key)},
        std::pair{std::optional(key), std::optional<std::array<std::uint8_t, 32>>()}}) {
    Pair p(with(ck), with(sk));
    ConnectionCore* c = p.dial(p.server_id->peer_id());
    ASSERT_TRUE(p.net.run_until([&] { return c->is_closing(); }));
    // A client without a key finishes TLS before the server refuses it; either way no
    // stream can be opened and the reason says why.
    if (ck) EXPECT_FALSE(c->established());
    EXPECT_FALSE(c->open_stream());
    EXPECT_EQ(c->close_reason(), errc::party_key_rejected) << c->close_reason().message();
  }
}

// Guards against a reset stream leaving the writer blocked or the reader waiting forever.
TEST(TransportCore, ResetReachesTheOtherSide) {
  Pair p;
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until([&] { return c->established(); }));
  auto sid = c->open_stream();
  ASSERT_TRUE(sid);
  std::vector<std::uint8_t> chunk(1000, 1);
  ASSERT_TRUE(c->stream_write(*sid, chunk));
  std::int64_t server_sid = -1;
  ASSERT_TRUE(p.net.run_until([&] {
    if (auto* s = p.server_conn())
      for (const auto& e : s->take_events())
        if (e.kind == CoreEvent::stream_opened) server_sid = e.stream_id;
    return server_sid >= 0 && p.server_conn()->stream_readable_bytes(server_sid) == 1000;
  }));
  p.server_conn()->stream_reset(server_sid, 42);
  ASSERT_TRUE(p.net.run_until([&] {
    bool fin = false;
    std::uint8_t buf[16];
    auto r = c->stream_read(*sid, buf, &fin);
    return !r && r.error() == errc::stream_reset;
  }));
  EXPECT_EQ(c->stream_reset_code(*sid), 42u);
  // The writer learns too (STOP_SENDING may come in a later packet than RESET_STREAM).
  ASSERT_TRUE(p.net.run_until([&] { return !c->stream_write(*sid, chunk); }));
}

// Client streams written at once and read by the server as they arrive: when each stream's
// first and last byte came (virtual time), and whether one was reset.
struct Arrivals {
  std::map<std::int64_t, Timestamp> first, last;
  std::map<std::int64_t, std::size_t> bytes;
  std::set<std::int64_t> reset;
  std::set<std::int64_t> done;
  std::int64_t throttled = -1;  // read at most `budget` bytes of this stream per 10 ms
  std::size_t budget = 0;
  Timestamp next_read = 0;

  void read(Pair& p) {
    ConnectionCore* s = p.server_conn();
    if (s == nullptr) return;
    for (const auto& e : s->take_events())
      if (e.kind == CoreEvent::stream_opened) bytes.try_emplace(e.stream_id, 0);
    for (auto& [id, n] : bytes) {
      if (done.contains(id) || reset.contains(id)) continue;
      std::size_t allowed = SIZE_MAX;
      if (id == throttled) {
        if (p.net.now < next_read) continue;
        next_read = p.net.now + 10'000'000;
        allowed = budget;
      }
      std::uint8_t buf[65536];
      bool fin = false;
      while (allowed > 0) {
        auto r = s->stream_read(id, std::span(buf, std::min(sizeof buf, allowed)), &fin);
        if (!r) {
          reset.insert(id);
          break;
        }
        if (*r == 0) break;
        if (n == 0) first[id] = p.net.now;
        n += *r;
        allowed -= *r;
        last[id] = p.net.now;
      }
      if (fin) done.insert(id);
    }
  }
};

// Opens a stream and queues `size` bytes and the end on it (the send buffer holds them all).
std::int64_t queue_stream(ConnectionCore* c, std::size_t size, bool sequential) {
  auto sid = c->open_stream();
  EXPECT_TRUE(sid);
  if (sequential) EXPECT_TRUE(c->stream_set_sequential(*sid));
  std::vector<std::uint8_t> data(size, 7);
  auto n = c->stream_write(*sid, data);
  EXPECT_TRUE(n && *n == size);
  EXPECT_TRUE(c->stream_finish(*sid));
  return *sid;
}

// Guards against bulk answers of one connection being sent side by side (each arriving late,
// none whole before all are), and against small ordinary answers waiting behind them.
TEST(TransportCore, SequentialStreamsAreSentOneAfterAnother) {
  Pair p;
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until([&] { return c->established(); }));
  Arrivals got;
  p.net.on_step = [&] { got.read(p); };
  // Past slow start first, so that both streams go at the same speed.
  queue_stream(c, 4 << 20, false);
  ASSERT_TRUE(p.net.run_until([&] { return got.done.size() == 1; }));
  const Timestamp start = p.net.now;
  const auto a = queue_stream(c, 1 << 20, true);
  const auto b = queue_stream(c, 1 << 20, true);
  const auto small = queue_stream(c, 1000, false);
  ASSERT_TRUE(p.net.run_until([&] { return got.done.size() == 4; }));
  EXPECT_EQ(got.bytes[a], 1u << 20);
  EXPECT_EQ(got.bytes[b], 1u << 20);
  EXPECT_EQ(got.bytes[small], 1000u);
  // Side by side, both would end at about the same time; one after another, the first ends
  // at about half the time the two take together (its lost packets, sent again while the
  // second one runs, may move its end a little later).
  const double first_done = static_cast<double>(got.last[a] - start);
  const double both_done = static_cast<double>(got.last[b] - start);
  EXPECT_LT(first_done, 0.8 * both_done) << "the two were sent side by side";
  EXPECT_LT(got.last[small], got.last[a]) << "the ordinary stream waited for the bulk one";
}

// Guards against a sequential stream that waits its turn being reset as stalled while the
// one before it is still being sent (slowly, here: its reader takes 64 KiB per 10 ms, and the
// connection's flow-control window lets no more through).
TEST(TransportCore, WaitingSequentialStreamIsNotStalled) {
  TransportSettings client = fast_settings();
  client.send_stall_timeout = std::chrono::milliseconds(100);
  client.keep_alive = std::chrono::milliseconds(5);
  TransportSettings server = fast_settings();
  server.connection_window = server.max_connection_window = 64 << 10;
  Pair p(client, server);
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until([&] { return c->established(); }));
  const auto a = queue_stream(c, 2 << 20, true);
  const auto b = queue_stream(c, 64 << 10, true);
  Arrivals got;
  got.throttled = a;
  got.budget = 64 << 10;
  p.net.on_step = [&] { got.read(p); };
  ASSERT_TRUE(p.net.run_until([&] { return got.done.size() + got.reset.size() == 2; }));
  EXPECT_TRUE(got.reset.empty());
  EXPECT_EQ(got.bytes[b], 64u << 10);
  EXPECT_GT(got.last[a] - got.first[a], 200'000'000u) << "the first stream was not slow";
}

// Guards against garbage datagrams crashing the endpoint or creating connections.
TEST(TransportCore, GarbageIsIgnored) {
  Pair p;
  std::vector<StatelessPacket> out;
  std::mt19937 rng(3);
  for (int i = 0; i < 2000; ++i) {
    std::vector<std::uint8_t> junk(std::uniform_int_distribution<int>(0, 1400)(rng));
    for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
    if (i % 3 == 0 && !junk.empty()) junk[0] |= 0xc0;  // long-header-looking
    p.server_ep.on_datagram(p.net.path_from(p.a, p.b), 0, junk, p.net.now, out);
  }
  EXPECT_EQ(p.server_ep.connection_count(), 0u);
  // And the endpoint still works.
  ConnectionCore* c = p.dial(p.server_id->peer_id());
  ASSERT_TRUE(p.net.run_until([&] { return c->established(); }));
}

}  // namespace
}  // namespace lanspread::transport
