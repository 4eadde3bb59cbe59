#include "app/api_server.hpp"

#include "app/static_files.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <array>

namespace lanspread::app {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using asio::ip::tcp;

namespace {

// Running out of descriptors or kernel memory: accepting again at once would fail again
// at once (the pending connection stays in the backlog), so the loop must wait.
bool is_resource_exhaustion(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space ||
         ec == asio::error::no_memory ||
         (ec.category() == boost::system::system_category() && ec.value() == ENFILE);
}

// Closes after an error answer without resetting the connection: closing with unread
// request bytes would send a RST that can destroy the answer before the client reads it.
// Reads and drops what the client still sends, for a bounded time and amount.
awaitable<void> linger(beast::tcp_stream& stream) {
  boost::system::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(1));
  std::array<char, 4096> sink{};
  for (std::size_t drained = 0; !ec && drained < 256 * 1024;) {
    drained += co_await stream.async_read_some(asio::buffer(sink),
                                               asio::redirect_error(asio::use_awaitable, ec));
  }
}

bool is_mutating(http::verb v) {
  return v != http::verb::get && v != http::verb::head && v != http::verb::options;
}

std::string host_text(const asio::ip::address& ip) {
  return ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
}

Response refusal_response(const Request& req, const Refusal& r) {
  return error_json(req, static_cast<http::status>(r.status), r.code, r.message);
}

}  // namespace

ApiServer::ApiServer(asio::any_io_executor ex, ApiServerConfig config,
                     std::shared_ptr<AppState> state, CommandSink send)
    : ex_(ex),
      acceptor_(ex),
      config_(std::move(config)),
      auth_(config_.key, config_.key_path.string(), config_.auth),
      state_(std::move(state)),
      send_(std::move(send)) {}

boost::system::result<std::shared_ptr<ApiServer>> ApiServer::start(asio::any_io_executor ex,
                                                                   ApiServerConfig config,
                                                                   std::shared_ptr<AppState> state,
                                                                   CommandSink send) {
  const tcp::endpoint address = config.address;
  std::shared_ptr<ApiServer> s(
      new ApiServer(ex, std::move(config), std::move(state), std::move(send)));
  boost::system::error_code ec;
  s->acceptor_.open(address.protocol(), ec);
  if (!ec) s->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s->acceptor_.bind(address, ec);
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  s->port_ = s->acceptor_.local_endpoint().port();
  const std::string port = std::to_string(s->port_);
  const auto ip = address.address();
  s->auth_.set_allowed_hosts(
      {"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port, host_text(ip) + ":" + port});
  // A wildcard address is reached from this machine through loopback.
  const std::string login_ip =
      !ip.is_unspecified() ? host_text(ip) : (ip.is_v6() ? "[::1]" : "127.0.0.1");
  s->login_host_ = login_ip + ":" + port;
  asio::co_spawn(ex, s->accept_loop(), asio::detached);
  return s;
}

result<std::string> ApiServer::login_url() {
  auto token = auth_.issue_login_token(std::chrono::steady_clock::now());
  if (!token) return token.error();
  return "http://" + login_host_ + "/login?token=" + *token;
}

void ApiServer::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

awaitable<void> ApiServer::accept_loop() {
  auto self = shared_from_this();
  const ApiLimits& limits = config_.limits;
  asio::steady_timer pause(ex_);
  auto backoff = limits.accept_backoff_min;
  bool exhausted = false;
  bool full = false;
  while (!stopped_) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopped_ || ec == asio::error::operation_aborted) co_return;
      if (!is_resource_exhaustion(ec)) continue;
      if (!exhausted) {
        spdlog::warn("API: cannot accept connections ({}); retrying with backoff up to {} ms",
                     ec.message(), limits.accept_backoff_max.count());
        exhausted = true;
      }
      pause.expires_after(backoff);
      co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      backoff = std::min(backoff * 2, limits.accept_backoff_max);
      continue;
    }
    if (exhausted) {
      spdlog::info("API: accepting connections again");
      exhausted = false;
      backoff = limits.accept_backoff_min;
    }
    if (connections_ - evicting_ >= limits.max_connections && !evict_unproven()) {
      if (!full) {
        spdlog::warn("API: {} connections open; closing new ones until some end", connections_);
        full = true;
      }
      socket.close(ec);
      continue;
    }
    full = false;
    asio::co_spawn(ex_, session(std::move(socket)), asio::detached);
  }
}

bool ApiServer::evict_unproven() {
  for (auto& u : unproven_) {
    if (!u.reading || u.evicted) continue;
    u.evicted = true;
    ++evicting_;
    boost::system::error_code ec;
    u.socket->close(ec);  // its read ends with an error and the session with it
    return true;
  }
  return false;
}

awaitable<void> ApiServer::session(tcp::socket socket) {
  auto self = shared_from_this();
  CountedSlot slot(connections_);
  const ApiLimits& limits = config_.limits;
  beast::tcp_stream stream(std::move(socket));
  // Listed as unproven until a request passes authentication.
  auto me = unproven_.insert(unproven_.end(), Unproven{&stream.socket()});
  bool listed = true;
  auto unlist = [&] {
    if (!listed) return;
    listed = false;
    if (me->evicted) --evicting_;
    unproven_.erase(me);
  };
  struct Unlist {
    decltype(unlist)& f;
    ~Unlist() { f(); }
  } unlist_at_end{unlist};
  beast::flat_buffer buffer(limits.header_max + limits.body_max);
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits.header_max));
    parser.body_limit(limits.body_max);
    stream.expires_after(limits.request_timeout);
    boost::system::error_code ec;
    if (listed) me->reading = true;
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (listed) {
      if (me->evicted) co_return;
      me->reading = false;
    }
    if (ec == http::error::header_limit || ec == http::error::body_limit ||
        ec == http::error::buffer_overflow) {
      // Tell the client why, then close: the rest of its request is not read.
      Request head{http::verb::get, "/", 11};
      head.keep_alive(false);
      const bool header = ec != http::error::body_limit;
      Response res = error_json(
          head,
          header ? http::status::request_header_fields_too_large : http::status::payload_too_large,
          "too_large",
          header ? "request headers are limited to " + std::to_string(limits.header_max) + " bytes"
                 : "request bodies are limited to " + std::to_string(limits.body_max) + " bytes");
      stream.expires_after(limits.write_timeout);
      co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
      co_await linger(stream);
      co_return;
    }
    if (ec) co_return;  // closed, timed out, or malformed
    Request req = parser.release();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    const bool upgrade = beast::websocket::is_upgrade(req);
    const RequestFacts facts{is_mutating(req.method()),       upgrade,
                             req[http::field::host],          req[http::field::origin],
                             req[http::field::authorization], req["X-API-Key"],
                             req[http::field::cookie]};
    Response res;
    if (auto refused = auth_.check_host_and_origin(facts)) {
      res = refusal_response(req, *refused);
    } else if (path.starts_with("/api/")) {
      const auto admitted = auth_.admit(facts, std::chrono::steady_clock::now());
      if (!std::holds_alternative<Refusal>(admitted)) unlist();  // the user's connection now
      if (const auto* r = std::get_if<Refusal>(&admitted)) {
        res = refusal_response(req, *r);
      } else if (path == "/api/v1/events/ws" && upgrade) {
        if (websockets_ >= limits.max_websockets) {
          res = error_json(req, http::status::service_unavailable, "too_many_streams",
                           "at most " + std::to_string(limits.max_websockets) +
                               " event streams may be open at once; close one, or use the "
                               "long-poll GET /api/v1/events");
        } else {
          co_await stream_events(std::move(stream), std::move(req), target);
          co_return;
        }
      } else if (path == "/api/v1/events") {
        res = co_await long_poll(req, target);
      } else {
        res = co_await answer(req, path);
      }
    } else if (path == "/login") {
      res = login(req, target);
    } else if (auto file = serve_static(req, path)) {  // the web UI (no data, no login)
      res = std::move(*file);
    } else {
      res = error_json(req, http::status::not_found, "not_found", "no such endpoint: " + path);
    }
    stream.expires_after(limits.write_timeout);
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) {
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      co_return;
    }
  }
}

}  // namespace lanspread::app
