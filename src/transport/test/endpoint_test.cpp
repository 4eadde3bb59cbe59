// The QUIC endpoint over real UDP sockets on loopback, driven by Asio coroutines.
#include "transport/endpoint.hpp"

#include "library/hasher.hpp"

#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <cstring>
#include <random>

namespace lanspread::transport {
namespace {

using namespace std::chrono_literals;

Address loopback(std::uint16_t port = 0) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  in.sin_addr.s_addr = htonl(0x7f000001);
  return Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

// The idle timeout is long enough that a loaded machine, starving this one thread that runs
// both ends, does not close a busy connection; the killed-peer test sets its own.
TransportSettings test_settings() {
  TransportSettings s;
  s.idle_timeout = 10s;
  s.keep_alive = 0ms;
  s.handshake_timeout = 3s;
  return s;
}

struct Peer {
  explicit Peer(asio::io_context& io, TransportSettings s = test_settings())
      : id(*Identity::generate()), ep(*Endpoint::open(io, loopback(), s, id)) {}
  std::shared_ptr<Identity> id;
  std::shared_ptr<Endpoint> ep;
};

// Runs `body` on a fresh io_context, failing the test if it does not finish in `limit`.
template <class F>
void run(F&& body, std::chrono::seconds limit = 60s) {
  asio::io_context io;
  bool done = false;
  asio::co_spawn(io, body(io), [&](std::exception_ptr e) {
    done = true;
    if (e) std::rethrow_exception(e);
    io.stop();
  });
  io.run_for(limit);
  EXPECT_TRUE(done) << "timed out";
}

// Serves: echoes the SHA-256 of everything each stream sends, then finishes it.
awaitable<void> hash_stream(Stream st) {
  library::Sha256Stream h;
  std::vector<std::uint8_t> buf(256 * 1024);
  for (;;) {
    auto n = co_await st.read_some(buf);
    if (!n || *n == 0) break;
    h.update({buf.data(), *n});
  }
  const auto d = h.finish();
  (void)co_await st.write(d.bytes);
  (void)st.finish();
  std::uint8_t b;
  (void)co_await st.read_some({&b, 1});  // keep the stream until the peer is done with it
}

awaitable<void> serve_connection(std::shared_ptr<Connection> c) {
  for (;;) {
    auto s = co_await c->accept_stream();
    if (!s) co_return;
    asio::co_spawn(co_await asio::this_coro::executor, hash_stream(std::move(*s)), asio::detached);
  }
}

awaitable<void> hash_echo_server(std::shared_ptr<Endpoint> ep) {
  for (;;) {
    auto conn = co_await ep->accept();
    if (!conn) co_return;
    asio::co_spawn(co_await asio::this_coro::executor, serve_connection(*conn), asio::detached);
  }
}

// Sends `size` pseudo-random bytes on a new stream and checks the hash the server returns.
awaitable<void> send_and_verify(std::shared_ptr<Connection> conn, std::size_t size,
                                std::uint32_t seed) {
  auto s = co_await conn->open_stream();
  EXPECT_TRUE(s) << s.error().message();
  if (!s) co_return;
  std::mt19937 rng(seed);
  std::vector<std::uint8_t> block(1 << 20);
  for (auto& b : block) b = static_cast<std::uint8_t>(rng());
  library::Sha256Stream h;
  std::size_t sent = 0;
  std::uint64_t counter = 0;
  while (sent < size) {
    ++counter;  // every block differs from the others
    std::memcpy(block.data(), &counter, sizeof counter);
    const std::size_t n = std::min(block.size(), size - sent);
    h.update({block.data(), n});
    auto w = co_await s->write({block.data(), n});
    EXPECT_TRUE(w) << w.error().message();
    if (!w) co_return;
    sent += n;
  }
  EXPECT_TRUE(s->finish());
  std::array<std::uint8_t, 32> answer{};
  auto r = co_await s->read_exact(answer);
  EXPECT_TRUE(r) << r.error().message();
  EXPECT_EQ(answer, h.finish().bytes);
}

// Guards against the endpoint loop failing to complete a handshake over real sockets.
TEST(Endpoint, HandshakeAndSmallStream) {
  run([](asio::io_context& io) -> awaitable<void> {
    Peer server(io), client(io);
    asio::co_spawn(io, hash_echo_server(server.ep), asio::detached);
    auto conn = co_await client.ep->dial(server.ep->local_address(), server.id->peer_id());
    EXPECT_TRUE(conn) << conn.error().message();
    if (!conn) co_return;
    EXPECT_EQ((*conn)->peer_id(), server.id->peer_id());
    co_await send_and_verify(*conn, 100'000, 1);
    // A second dial to the same peer reuses the connection.
    auto again = co_await client.ep->dial(server.ep->local_address(), server.id->peer_id());
    EXPECT_TRUE(again && again->get() == conn->get());
    client.ep->close();
    server.ep->close();
  });
}

// Guards against connecting to an impostor or to a server of another protocol.
TEST(Endpoint, WrongPeerIdAndAlpnAreRejected) {
  run([](asio::io_context& io) -> awaitable<void> {
    Peer server(io), client(io);
    TransportSettings other = test_settings();
    other.alpn = "h3";
    Peer foreign(io, other);
    auto wrong = co_await client.ep->dial(server.ep->local_address(), std::string(64, '0'));
    EXPECT_FALSE(wrong);
    if (!wrong) EXPECT_EQ(wrong.error(), errc::peer_id_mismatch);
    auto alpn = co_await foreign.ep->dial(server.ep->local_address(), server.id->peer_id());
    EXPECT_FALSE(alpn);
    if (!alpn) EXPECT_EQ(alpn.error(), errc::alpn_mismatch);
    client.ep->close();
    server.ep->close();
    foreign.ep->close();
  });
}

// Guards against corruption or stalls in a long transfer (1 GiB, both ends hashing).
TEST(Endpoint, OneGibStream) {
  run(
      [](asio::io_context& io) -> awaitable<void> {
        Peer server(io), client(io);
        asio::co_spawn(io, hash_echo_server(server.ep), asio::detached);
        auto conn = co_await client.ep->dial(server.ep->local_address(), server.id->peer_id());
        EXPECT_TRUE(conn);
        if (!conn) co_return;
        co_await send_and_verify(*conn, std::size_t{1} << 30, 2);
        client.ep->close();
        server.ep->close();
      },
      300s);
}

// Guards against streams of one connection interfering (mixed data, starvation, limits).
TEST(Endpoint, SixtyFourConcurrentStreams) {
  run([](asio::io_context& io) -> awaitable<void> {
    Peer server(io), client(io);
    asio::co_spawn(io, hash_echo_server(server.ep), asio::detached);
    auto conn = co_await client.ep->dial(server.ep->local_address(), server.id->peer_id());
    EXPECT_TRUE(conn);
    if (!conn) co_return;
    int finished = 0;
    asio::steady_timer all_done(io, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 64; ++i) {
      asio::co_spawn(
          io,
          [&, i]() -> awaitable<void> {
            co_await send_and_verify(*conn, 1'000'000 + static_cast<std::size_t>(i) * 1000,
                                     100 + static_cast<std::uint32_t>(i));
            if (++finished == 64) all_done.cancel();
          },
          asio::detached);
    }
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(finished, 64);
    client.ep->close();
    server.ep->close();
  });
}

// Guards against a reset in either direction leaving the other side blocked.
TEST(Endpoint, ResetMidTransferBothDirections) {
  run([](asio::io_context& io) -> awaitable<void> {
    Peer server(io), client(io);
    // Server: reads 100 KB of each stream, then resets it.
    asio::co_spawn(
        io,
        [ep = server.ep]() -> awaitable<void> {
          auto c = co_await ep->accept();
          if (!c) co_return;
          for (;;) {
            auto s = co_await (*c)->accept_stream();
            if (!s) co_return;
            std::vector<std::uint8_t> buf(100'000);
            (void)co_await s->read_exact(buf);
            s->reset(7);
          }
        },
        asio::detached);
    auto conn = co_await client.ep->dial(server.ep->local_address(), server.id->peer_id());
    EXPECT_TRUE(conn);
    if (!conn) co_return;
    // Client writes far more than the server reads: its write must fail, not hang.
    {
      auto s = co_await (*conn)->open_stream();
      std::vector<std::uint8_t> big(64 << 20, 1);
      auto w = co_await s->write(big);
      EXPECT_FALSE(w);
      if (!w) EXPECT_EQ(w.error(), errc::stream_reset);
    }
    // Client resets a stream the server is reading: the server's read fails, the
    // connection stays usable.
    {
      auto s = co_await (*conn)->open_stream();
      std::vector<std::uint8_t> some(10'000, 2);
      (void)co_await s->write(some);
      s->reset(9);
    }
    auto s3 = co_await (*conn)->open_stream();
    EXPECT_TRUE(s3);
    EXPECT_TRUE((*conn)->is_open());
    client.ep->close();
    server.ep->close();
  });
}

// Guards against a killed peer leaving the survivor waiting forever.
TEST(Endpoint, KilledPeerIsDetectedWithinIdleTimeout) {
  // The server runs in a child process so it can really die.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    asio::io_context io;
    Peer server(io);
    const auto port =
        ntohs(reinterpret_cast<const sockaddr_in*>(&server.ep->local_address().storage)->sin_port);
    const std::string msg = std::to_string(port) + " " + server.id->peer_id();
    (void)!::write(ready[1], msg.data(), msg.size());
    ::close(ready[1]);
    asio::co_spawn(io, hash_echo_server(server.ep), asio::detached);
    io.run_for(60s);
    ::_exit(0);
  }
  ::close(ready[1]);
  char buf[128] = {};
  ASSERT_GT(::read(ready[0], buf, sizeof buf - 1), 0);
  ::close(ready[0]);
  unsigned port = 0;
  char id[65] = {};
  ASSERT_EQ(std::sscanf(buf, "%u %64s", &port, id), 2);
  run([&](asio::io_context& io) -> awaitable<void> {
    auto quick = test_settings();
    quick.idle_timeout = 2s;
    Peer client(io, quick);
    auto conn = co_await client.ep->dial(loopback(static_cast<std::uint16_t>(port)), id);
    EXPECT_TRUE(conn);
    if (!conn) co_return;
    auto s = co_await (*conn)->open_stream();
    EXPECT_TRUE(s);
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    const auto start = std::chrono::steady_clock::now();
    std::uint8_t b;
    auto r = co_await s->read_some({&b, 1});
    EXPECT_FALSE(r);
    if (!r) EXPECT_EQ(r.error(), errc::idle_timeout);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    client.ep->close();
  });
}

// Guards against hostile datagrams (garbage, truncated QUIC) harming the endpoint.
TEST(Endpoint, GarbageDatagramsAreHarmless) {
  run([](asio::io_context& io) -> awaitable<void> {
    Peer server(io), client(io);
    asio::co_spawn(io, hash_echo_server(server.ep), asio::detached);
    const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
    std::mt19937 rng(5);
    const Address to = server.ep->local_address();
    for (int i = 0; i < 5000; ++i) {
      std::vector<std::uint8_t> junk(std::uniform_int_distribution<int>(0, 1500)(rng));
      for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
      if (i % 2 == 0 && !junk.empty()) junk[0] = 0xc3;  // looks like a long-header Initial
      ::sendto(fd, junk.data(), junk.size(), 0, to.sa(), to.len);
    }
    ::close(fd);
    auto conn = co_await client.ep->dial(server.ep->local_address(), server.id->peer_id());
    EXPECT_TRUE(conn);
    if (conn) co_await send_and_verify(*conn, 50'000, 3);
    client.ep->close();
    server.ep->close();
  });
}

// Guards against the endpoint breaking down with many peers at once.
TEST(Endpoint, HundredConnections) {
  run([](asio::io_context& io) -> awaitable<void> {
    // 100 handshakes on one thread of a loaded 2-core machine can leave a connection
    // silent for seconds: a long idle timeout keeps this a test of correctness.
    TransportSettings patient = test_settings();
    patient.idle_timeout = 30s;
    patient.handshake_timeout = 30s;
    // All clients share 127.0.0.1; on a LAN they would be 100 addresses.
    patient.max_incoming_per_host = 100;
    Peer server(io, patient);
    asio::co_spawn(io, hash_echo_server(server.ep), asio::detached);
    std::vector<std::unique_ptr<Peer>> clients;
    int ok = 0;
    asio::steady_timer all_done(io, std::chrono::steady_clock::time_point::max());
    for (int i = 0; i < 100; ++i) {
      clients.push_back(std::make_unique<Peer>(io, patient));
      asio::co_spawn(
          io,
          [&, ep = clients.back()->ep]() -> awaitable<void> {
            auto conn = co_await ep->dial(server.ep->local_address(), server.id->peer_id());
            EXPECT_TRUE(conn);
            if (conn) co_await send_and_verify(*conn, 20'000, 7);
            if (++ok == 100) all_done.cancel();
          },
          asio::detached);
    }
    boost::system::error_code ec;
    co_await all_done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    EXPECT_EQ(ok, 100);
    EXPECT_EQ(server.ep->connection_count(), 100u);
    for (auto& c : clients) c->ep->close();
    server.ep->close();
  });
}

}  // namespace
}  // namespace lanspread::transport
