// A lanspread peer that misbehaves on purpose, for tests. It is built from the project's own
// transport, proto, library and discovery modules, announces itself over mDNS like a real
// peer (unless --no-mdns), and answers lanspread/1 requests, honestly or not:
//
//   --games DIR             serve the games in DIR (scanned once at start) like a real peer
//   --games-bomb BYTES      answer ListGames with a frame of BYTES: thousands of summaries
//   --game-bomb BYTES       answer GetGame with a frame of BYTES: one file, endless hashes;
//                           ListGames then offers `openarena` at version 999 so peers ask
//   --deep BYTES            answer ListGames and GetGame with BYTES of nested arrays
//   --bump-rev              every Pong carries a new library revision
//   --stall-after-header    for file and chunk requests send the FileData frame, then
//                           nothing; the stream and the connection stay open
//
// It speaks protocol revision 2: GetGameFiles (several small files at once, revision 3) is
// refused as an unknown request, the way a peer of that revision answers it.
//
// Every request is printed as one JSON line on stdout, {"request": "ListGames", "from":
// "<peer id of the asker>", "t": <unix ms>}, so a test can count them. Stops on SIGINT/SIGTERM.
#include "discovery/discovery_service.hpp"
#include "library/scan.hpp"
#include "proto/codec.hpp"
#include "proto/frame.hpp"
#include "proto/limits.hpp"
#include "transport/endpoint.hpp"

#include <arpa/inet.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>

namespace {

namespace asio = boost::asio;
using namespace lanspread;
using asio::awaitable;

struct Options {
  std::string state;
  std::string name = "hostile";
  std::uint16_t port = 0;
  std::string games;
  std::uint64_t games_bomb = 0;
  std::uint64_t game_bomb = 0;
  std::uint64_t deep = 0;
  bool bump_rev = false;
  bool stall_after_header = false;
  bool no_mdns = false;
  std::vector<std::string> interfaces;
};

struct Server {
  Options opt;
  std::optional<library::LocalLibrary> lib;
  std::uint64_t rev = 1;
};

void log_request(std::string_view type, const std::string& from) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  std::printf("{\"request\":\"%.*s\",\"from\":\"%s\",\"t\":%lld}\n", static_cast<int>(type.size()),
              type.data(), from.c_str(), static_cast<long long>(ms));
  std::fflush(stdout);
}

awaitable<bool> send(transport::Stream& s, std::string_view bytes) {
  auto w = co_await s.write({reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()});
  co_return static_cast<bool>(w);
}

// A frame announcing `size` payload bytes: `head`, then `unit` repeated (the last one cut to
// fit), then `tail`. Written piece by piece; nothing big is held. The result is rarely valid
// JSON: a client must have refused it long before its end.
awaitable<void> send_generated(transport::Stream& s, std::uint64_t size, std::string head,
                               std::string unit, std::string tail) {
  const std::uint32_t n = static_cast<std::uint32_t>(std::min<std::uint64_t>(size, 0xffffffffu));
  const char header[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                          static_cast<char>(n >> 8), static_cast<char>(n)};
  if (!co_await send(s, std::string_view(header, 4)) || !co_await send(s, head)) co_return;
  std::uint64_t left = n - std::min<std::uint64_t>(n, head.size() + tail.size());
  std::string block;
  while (block.size() < 64 * 1024) block += unit;
  while (left > 0) {
    const auto take = std::min<std::uint64_t>(left, block.size());
    if (!co_await send(s, std::string_view(block).substr(0, take))) co_return;
    left -= take;
  }
  co_await send(s, tail);
}

awaitable<void> send_response(transport::Stream& s, const proto::Response& r) {
  if (auto frame = proto::frame_response(r)) co_await send(s, *frame);
}

awaitable<void> send_file_part(Server& srv, transport::Stream& s, const std::string& id,
                               const std::string& path, std::uint64_t offset,
                               std::optional<std::uint64_t> length) {
  const library::LocalGame* game = srv.lib ? srv.lib->find(id) : nullptr;
  const auto file = game ? game->root / path : std::filesystem::path();
  std::error_code ec;
  const auto size = game ? std::filesystem::file_size(file, ec) : 0;
  if (!game || ec || offset > size) {
    co_await send_response(s, proto::Error{proto::WireErrorCode::not_found, "no such file"});
    co_return;
  }
  const std::uint64_t n = length.value_or(size - offset);
  co_await send_response(s, proto::FileData{n});
  if (srv.opt.stall_after_header) {
    // Nothing more, ever: the stream stays open until the peer gives up on it.
    asio::steady_timer forever(co_await asio::this_coro::executor, std::chrono::hours(24));
    boost::system::error_code ignored;
    co_await forever.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    co_return;
  }
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string block(256 * 1024, '\0');
  for (std::uint64_t left = n; left > 0 && in;) {
    in.read(block.data(),
            static_cast<std::streamsize>(std::min<std::uint64_t>(left, block.size())));
    const auto got = static_cast<std::size_t>(in.gcount());
    if (got == 0 || !co_await send(s, std::string_view(block).substr(0, got))) co_return;
    left -= got;
  }
}

awaitable<void> handle(Server& srv, transport::Stream s, std::string peer_id, std::string from) {
  proto::FrameDecoder decoder(proto::kMaxRequestFrame);
  std::uint8_t buf[4096];
  while (!decoder.complete()) {
    auto n = co_await s.read_some(buf);
    if (!n || *n == 0 || !decoder.feed(std::span<const std::uint8_t>(buf, *n))) co_return;
  }
  auto request = proto::decode_request(decoder.take_payload());
  if (!request) co_return;
  log_request(proto::type_name(*request), from);
  if (std::holds_alternative<proto::Ping>(*request)) {
    co_await send_response(s, proto::Pong{peer_id, srv.opt.bump_rev ? ++srv.rev : srv.rev});
  } else if (std::holds_alternative<proto::ListGames>(*request)) {
    if (srv.opt.deep) {
      co_await send_generated(s, srv.opt.deep, R"({"type":"Games","games":[],"x":)", "[", "");
    } else if (srv.opt.games_bomb) {
      co_await send_generated(
          s, srv.opt.games_bomb, R"({"type":"Games","games":[)",
          R"({"id":"openarena","version":"1","size":1,"downloaded":true,"installed":false},)",
          R"({"id":"xonotic","version":"1","size":1,"downloaded":true,"installed":false}]})");
    } else {
      auto games = srv.lib ? srv.lib->summaries() : std::vector<proto::GameSummary>{};
      if (srv.opt.game_bomb) games.push_back({"openarena", "999", 1, true, false, {}});
      co_await send_response(s, proto::Games{std::move(games)});
    }
  } else if (const auto* get = std::get_if<proto::GetGame>(&*request)) {
    const library::LocalGame* game = srv.lib ? srv.lib->find(get->id) : nullptr;
    if (srv.opt.deep) {
      co_await send_generated(s, srv.opt.deep, R"({"type":"Game","x":)", "[", "");
    } else if (srv.opt.game_bomb) {
      co_await send_generated(s, srv.opt.game_bomb,
                              R"({"type":"Game","id":")" + get->id +
                                  R"(","version":"999","chunk_size":65536,"files":[{"path":"a",)"
                                  R"("is_dir":false,"chunk_hashes":[)",
                              "\"" + std::string(64, 'a') + "\",", "]}]}");
    } else if (game && game->manifest) {
      co_await send_response(s, *game->manifest);
    } else {
      co_await send_response(s, proto::Error{proto::WireErrorCode::not_found, "no such game"});
    }
  } else if (const auto* whole = std::get_if<proto::GetGameFileData>(&*request)) {
    co_await send_file_part(srv, s, whole->game_id, whole->path, 0, std::nullopt);
  } else if (const auto* chunk = std::get_if<proto::GetGameFileChunk>(&*request)) {
    co_await send_file_part(srv, s, chunk->game_id, chunk->path, chunk->offset, chunk->length);
  } else if (std::holds_alternative<proto::GetGameFiles>(*request)) {
    co_await send_response(
        s,
        proto::Error{proto::WireErrorCode::bad_request,
                     "request refused: " + make_error_code(proto::errc::unknown_type).message()});
  }
  (void)s.finish();
}

awaitable<void> serve(Server& srv, std::shared_ptr<transport::Connection> conn,
                      std::string peer_id) {
  for (;;) {
    auto s = co_await conn->accept_stream();
    if (!s) co_return;
    asio::co_spawn(co_await asio::this_coro::executor,
                   handle(srv, std::move(*s), peer_id, conn->peer_id()), asio::detached);
  }
}

awaitable<void> accept_loop(Server& srv, std::shared_ptr<transport::Endpoint> ep,
                            std::string peer_id) {
  for (;;) {
    auto conn = co_await ep->accept();
    if (!conn) co_return;
    asio::co_spawn(co_await asio::this_coro::executor, serve(srv, *conn, peer_id), asio::detached);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Server srv;
  Options& o = srv.opt;
  CLI::App app{"A lanspread peer that misbehaves on purpose (tests only)"};
  app.add_option("--state", o.state, "State directory (identity)")->required();
  app.add_option("--name", o.name, "Name announced over mDNS");
  app.add_option("--port", o.port, "UDP port for QUIC (0: any)");
  app.add_option("--games", o.games, "Games directory to serve honestly");
  app.add_option("--games-bomb", o.games_bomb, "ListGames answered with a frame of BYTES");
  app.add_option("--game-bomb", o.game_bomb, "GetGame answered with a frame of BYTES");
  app.add_option("--deep", o.deep, "ListGames and GetGame answered with BYTES of nesting");
  app.add_flag("--bump-rev", o.bump_rev, "A new library revision in every Pong");
  app.add_flag("--stall-after-header", o.stall_after_header,
               "File and chunk requests get the FileData frame, then nothing");
  app.add_flag("--no-mdns", o.no_mdns, "Do not announce over mDNS");
  app.add_option("--interface", o.interfaces, "Announce only on this interface");
  CLI11_PARSE(app, argc, argv);

  if (!o.games.empty()) {
    library::ScanOptions scan;
    scan.use_index = false;
    auto lib = library::scan_local_library(o.games, library::Catalog::bundled(), scan);
    if (!lib) {
      std::fprintf(stderr, "cannot scan %s: %s\n", o.games.c_str(), lib.error().message().c_str());
      return 1;
    }
    srv.lib = std::move(*lib);
  }
  auto identity = transport::Identity::load_or_create(o.state);
  if (!identity) {
    std::fprintf(stderr, "identity: %s\n", identity.error().message().c_str());
    return 1;
  }
  asio::io_context io;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(o.port);
  auto ep = transport::Endpoint::open(
      io, transport::Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in), {},
      *identity);
  if (!ep) {
    std::fprintf(stderr, "endpoint: %s\n", ep.error().message().c_str());
    return 1;
  }
  const std::string peer_id = (*identity)->peer_id();
  const auto& local = (*ep)->local_address().storage;
  const auto port = ntohs(reinterpret_cast<const sockaddr_in*>(&local)->sin_port);
  std::shared_ptr<discovery::DiscoveryService> mdns;
  if (!o.no_mdns) {
    discovery::Settings ds;
    ds.interfaces.only = o.interfaces;
    mdns = discovery::DiscoveryService::create(io.get_executor(), ds);
    if (auto ok = mdns->start(); !ok) {
      std::fprintf(stderr, "mdns: %s\n", ok.error().message().c_str());
      return 1;
    }
    (void)mdns->advertise({peer_id, o.name, port, srv.rev, {}});
  }
  std::printf("{\"ready\":{\"peer_id\":\"%s\",\"port\":%u}}\n", peer_id.c_str(), port);
  std::fflush(stdout);
  asio::co_spawn(io, accept_loop(srv, *ep, peer_id), asio::detached);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*ep)->close();
    if (mdns) {
      mdns->stop([&io] { io.stop(); });
    } else {
      io.stop();
    }
  });
  io.run();
  return 0;
}
