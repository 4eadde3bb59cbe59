// A QUIC client that misbehaves towards a lanspread peer on purpose, for tests. It is built
// from the project's own transport and proto modules. Each connection comes from its own
// UDP socket (one endpoint per connection), all from this host's address:
//
//   --to ADDR:PORT --peer-id ID   the victim
//   --connections N               open N connections at once (default 1) and hold them
//   --streams N                   on each established connection, open N streams asking
//                                 for --game/--path bytes [--offset, --offset+--length)
//                                 (GetGameFileChunk) and never read the answers
//   --stop                        after the requests, stop the whole process (SIGSTOP): no
//                                 packet is read or acknowledged any more
//   --party-key-hex HEX           hold this party key (32 bytes as 64 hex digits) ...
//   --no-proof                    ... but never send the proof of it
//   --handshake-timeout MS        give up a handshake after MS (default 5000)
//
// Prints one JSON line per connection outcome and a summary:
//   {"established": i}  {"failed": i, "error": "..."}  {"closed": i, "after_ms": t,
//   "error": "..."} (t: since the connection was established)
//   {"summary": {"established": n, "failed": n, "requested_streams": n}}
// then waits (holding everything) until SIGINT/SIGTERM.
#include "proto/frame.hpp"
#include "transport/endpoint.hpp"

#include <arpa/inet.h>
#include <signal.h>
#include <sys/resource.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

namespace {

namespace asio = boost::asio;
using namespace lanspread;
using asio::awaitable;

struct Options {
  std::string to;
  std::string peer_id;
  std::size_t connections = 1;
  std::size_t streams = 0;
  std::string game;
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  bool stop = false;
  std::string party_key_hex;
  bool no_proof = false;
  int handshake_timeout_ms = 5000;
  std::string state;
};

struct Run {
  Options opt;
  transport::Address target;
  std::size_t pending = 0;  // dials not yet decided
  std::size_t established = 0;
  std::size_t failed = 0;
  std::size_t requested = 0;
  std::vector<std::shared_ptr<transport::Connection>> held;
  std::vector<transport::Stream> streams;
};

void line(const std::string& s) {
  std::printf("%s\n", s.c_str());
  std::fflush(stdout);
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + '"';
}

void summary(Run& run) {
  line("{\"summary\":{\"established\":" + std::to_string(run.established) +
       ",\"failed\":" + std::to_string(run.failed) +
       ",\"requested_streams\":" + std::to_string(run.requested) + "}}");
  if (run.opt.stop) ::raise(SIGSTOP);  // from now on nothing is read or acknowledged
}

// Reports when the connection ends (the victim closed it).
awaitable<void> watch(std::shared_ptr<transport::Connection> conn, std::size_t i) {
  const auto start = std::chrono::steady_clock::now();
  auto s = co_await conn->accept_stream();  // the victim opens none: returns at close
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  line("{\"closed\":" + std::to_string(i) + ",\"after_ms\":" + std::to_string(ms) +
       ",\"error\":" + quoted(s ? "stream" : s.error().message()) + "}");
}

awaitable<void> one(Run& run, std::shared_ptr<transport::Endpoint> ep, std::size_t i) {
  auto conn = co_await ep->dial(run.target, run.opt.peer_id);
  if (!conn) {
    ++run.failed;
    line("{\"failed\":" + std::to_string(i) + ",\"error\":" + quoted(conn.error().message()) + "}");
  } else {
    ++run.established;
    line("{\"established\":" + std::to_string(i) + "}");
    run.held.push_back(*conn);
    asio::co_spawn(co_await asio::this_coro::executor, watch(*conn, i), asio::detached);
    auto frame = proto::frame_request(proto::GetGameFileChunk{
        run.opt.game, run.opt.path, run.opt.offset, run.opt.length, {}, false});
    for (std::size_t k = 0; k < run.opt.streams && frame; ++k) {
      auto s = co_await (*conn)->open_stream();
      if (!s) break;
      auto w =
          co_await s->write({reinterpret_cast<const std::uint8_t*>(frame->data()), frame->size()});
      if (!w || !s->finish()) break;
      ++run.requested;
      run.streams.push_back(std::move(*s));  // held, never read
    }
  }
  if (--run.pending == 0) summary(run);
}

std::optional<std::array<std::uint8_t, 32>> parse_key(const std::string& hex) {
  if (hex.size() != 64) return std::nullopt;
  std::array<std::uint8_t, 32> key{};
  for (std::size_t i = 0; i < 32; ++i) {
    unsigned v = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &v) != 1) return std::nullopt;
    key[i] = static_cast<std::uint8_t>(v);
  }
  return key;
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  Options& o = run.opt;
  CLI::App app{"A QUIC client that misbehaves towards a lanspread peer (tests only)"};
  app.add_option("--to", o.to, "The victim's ADDR:PORT (IPv4)")->required();
  app.add_option("--peer-id", o.peer_id, "The victim's peer id")->required();
  app.add_option("--state", o.state, "State directory (identity)")->required();
  app.add_option("--connections", o.connections, "Connections to open and hold");
  app.add_option("--streams", o.streams, "Never-read chunk requests per connection");
  app.add_option("--game", o.game, "Game id of the requests");
  app.add_option("--path", o.path, "File of the requests");
  app.add_option("--offset", o.offset, "Offset of the requests");
  app.add_option("--length", o.length, "Length of the requests");
  app.add_flag("--stop", o.stop, "SIGSTOP this process once the requests are sent");
  app.add_option("--party-key-hex", o.party_key_hex, "Party key, 64 hex digits");
  app.add_flag("--no-proof", o.no_proof, "Never send the party-key proof");
  app.add_option("--handshake-timeout", o.handshake_timeout_ms, "Handshake deadline, ms");
  CLI11_PARSE(app, argc, argv);

  const auto colon = o.to.rfind(':');
  sockaddr_in in{};
  in.sin_family = AF_INET;
  if (colon == std::string::npos ||
      inet_pton(AF_INET, o.to.substr(0, colon).c_str(), &in.sin_addr) != 1) {
    std::fprintf(stderr, "--to: not an IPv4 ADDR:PORT: %s\n", o.to.c_str());
    return 2;
  }
  in.sin_port = htons(static_cast<std::uint16_t>(std::stoi(o.to.substr(colon + 1))));
  run.target = transport::Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);

  transport::TransportSettings settings;
  settings.handshake_timeout = std::chrono::milliseconds(o.handshake_timeout_ms);
  settings.unused_timeout = std::chrono::milliseconds(0);  // this side holds forever
  settings.send_stall_timeout = std::chrono::milliseconds(0);
  if (!o.party_key_hex.empty()) {
    settings.party_key = parse_key(o.party_key_hex);
    if (!settings.party_key) {
      std::fprintf(stderr, "--party-key-hex: 64 hex digits expected\n");
      return 2;
    }
  }
  settings.send_party_proof = !o.no_proof;

  // One socket per connection: raise the soft open-file limit as far as allowed.
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    (void)::setrlimit(RLIMIT_NOFILE, &lim);
  }
  auto identity = transport::Identity::load_or_create(o.state);
  if (!identity) {
    std::fprintf(stderr, "identity: %s\n", identity.error().message().c_str());
    return 1;
  }
  asio::io_context io;
  sockaddr_in any{};
  any.sin_family = AF_INET;
  const auto bind = transport::Address::from(reinterpret_cast<const sockaddr*>(&any), sizeof any);
  std::vector<std::shared_ptr<transport::Endpoint>> endpoints;
  run.pending = o.connections;
  for (std::size_t i = 0; i < o.connections; ++i) {
    auto ep = transport::Endpoint::open(io, bind, settings, *identity);
    if (!ep) {
      std::fprintf(stderr, "endpoint %zu: %s\n", i, ep.error().message().c_str());
      return 1;
    }
    endpoints.push_back(*ep);
    asio::co_spawn(io, one(run, *ep, i), asio::detached);
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    for (auto& ep : endpoints) ep->close();
    io.stop();
  });
  io.run();
  return 0;
}
