// The QUIC side of the transport benchmark (transport_bench.sh).
//   quic_bench serve --bind IP:PORT [--cc cubic|bbr]
//       prints "READY <peer id>", then answers each stream's 8-byte request (a byte count,
//       big-endian) with that many bytes and prints "SENT <bytes> <cpu seconds so far>".
//   quic_bench fetch --to IP:PORT --peer-id ID --bytes N [--cc cubic|bbr]
//       downloads N bytes on one stream; prints "GOT <bytes> <seconds> <cpu seconds>".
#include "transport/endpoint.hpp"

#include <arpa/inet.h>
#include <sys/resource.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>

using namespace lanspread::transport;

namespace {

double cpu_seconds() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

bool parse_address(const std::string& text, Address& out) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
  if (::inet_pton(AF_INET, text.substr(0, colon).c_str(), &in.sin_addr) != 1) return false;
  out = Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
  return true;
}

awaitable<void> serve_stream(Stream s) {
  std::uint8_t req[8];
  if (!co_await s.read_exact(req)) co_return;
  std::uint64_t want = 0;
  for (std::uint8_t b : req) want = want << 8 | b;
  std::vector<std::uint8_t> block(1 << 20, 0x5a);
  std::uint64_t sent = 0;
  while (sent < want) {
    const std::size_t n =
        static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), want - sent));
    if (!co_await s.write({block.data(), n})) co_return;
    sent += n;
  }
  (void)s.finish();
  std::uint8_t b;
  (void)co_await s.read_some({&b, 1});  // until the client closes the stream
  std::printf("SENT %llu %.3f\n", static_cast<unsigned long long>(sent), cpu_seconds());
  std::fflush(stdout);
}

awaitable<void> serve_connection(std::shared_ptr<Connection> c) {
  for (;;) {
    auto s = co_await c->accept_stream();
    if (!s) co_return;
    asio::co_spawn(co_await asio::this_coro::executor, serve_stream(std::move(*s)), asio::detached);
  }
}

awaitable<void> serve(std::shared_ptr<Endpoint> ep) {
  for (;;) {
    auto c = co_await ep->accept();
    if (!c) co_return;
    asio::co_spawn(co_await asio::this_coro::executor, serve_connection(*c), asio::detached);
  }
}

awaitable<void> fetch(std::shared_ptr<Endpoint> ep, Address to, std::string peer_id,
                      std::uint64_t bytes, int& rc) {
  const auto start = std::chrono::steady_clock::now();
  auto c = co_await ep->dial(to, peer_id);
  if (!c) {
    std::fprintf(stderr, "dial: %s\n", c.error().message().c_str());
    co_return;
  }
  auto s = co_await (*c)->open_stream();
  if (!s) co_return;
  std::uint8_t req[8];
  for (int i = 0; i < 8; ++i) req[i] = static_cast<std::uint8_t>(bytes >> (56 - 8 * i));
  if (!co_await s->write(req) || !s->finish()) co_return;
  std::vector<std::uint8_t> buf(1 << 20);
  std::uint64_t got = 0;
  for (;;) {
    auto n = co_await s->read_some(buf);
    if (!n) {
      std::fprintf(stderr, "read: %s\n", n.error().message().c_str());
      co_return;
    }
    if (*n == 0) break;
    got += *n;
  }
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("GOT %llu %.4f %.3f\n", static_cast<unsigned long long>(got), secs, cpu_seconds());
  rc = got == bytes ? 0 : 1;
  ep->close();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"QUIC transfer benchmark peer"};
  app.require_subcommand(1);
  std::string bind = "0.0.0.0:4433";
  std::string to;
  std::string peer_id;
  std::string cc = "cubic";
  std::uint64_t bytes = 0;
  auto* srv = app.add_subcommand("serve");
  srv->add_option("--bind", bind);
  srv->add_option("--cc", cc);
  auto* cli = app.add_subcommand("fetch");
  cli->add_option("--to", to)->required();
  cli->add_option("--peer-id", peer_id)->required();
  cli->add_option("--bytes", bytes)->required();
  cli->add_option("--cc", cc);
  CLI11_PARSE(app, argc, argv);

  TransportSettings settings;
  settings.congestion = cc == "bbr" ? CongestionControl::bbr : CongestionControl::cubic;
  auto identity = Identity::generate();
  if (!identity) return 2;
  asio::io_context io;
  int rc = 1;
  if (srv->parsed()) {
    Address a;
    if (!parse_address(bind, a)) return 2;
    auto ep = Endpoint::open(io, a, settings, *identity);
    if (!ep) {
      std::fprintf(stderr, "open: %s\n", ep.error().message().c_str());
      return 2;
    }
    const auto& st = (*ep)->socket_stats();
    std::fprintf(stderr, "socket: rcvbuf=%d sndbuf=%d gso=%d gro=%d\n", st.rcvbuf, st.sndbuf,
                 st.gso, st.gro);
    std::printf("READY %s\n", (*identity)->peer_id().c_str());
    std::fflush(stdout);
    asio::co_spawn(io, serve(*ep), asio::detached);
    io.run();
    return 0;
  }
  Address target;
  Address any;
  if (!parse_address(to, target) || !parse_address("0.0.0.0:0", any)) return 2;
  auto ep = Endpoint::open(io, any, settings, *identity);
  if (!ep) return 2;
  asio::co_spawn(io, fetch(*ep, target, peer_id, bytes, rc), asio::detached);
  io.run();
  return rc;
}
