// The sans-IO connection core driven over a simulated link with a virtual clock.
#include "sim_link.hpp"

#include <gtest/gtest.h>

#include <numeric>

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
