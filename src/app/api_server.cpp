#include "app/api_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <charconv>

namespace lanspread::app {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr std::size_t kMaxBody = 64 * 1024;
constexpr auto kLongPollMax = std::chrono::seconds(25);
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

Response make_json(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response error_json(const Request& req, http::status status, std::string_view code,
                    std::string message) {
  return make_json(req, status,
                   json::serialize(json::object{
                       {"error", json::object{{"code", code}, {"message", std::move(message)}}}}));
}

// Splits "/path?x=1&y=2" and returns the value of `key`, if any.
std::optional<std::string_view> query_param(std::string_view target, std::string_view key) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

std::uint64_t parse_u64(std::optional<std::string_view> s, std::uint64_t fallback) {
  if (!s) return fallback;
  std::uint64_t v = fallback;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  return ec == std::errc{} && p == s->data() + s->size() ? v : fallback;
}

std::string batch_json(const EventBatch& b) {
  std::string out = R"({"events":[)";
  for (std::size_t i = 0; i < b.events.size(); ++i) {
    if (i) out += ',';
    out += b.events[i]->json;
  }
  out += "],\"next\":" + std::to_string(b.next) + ",\"missed\":" + std::to_string(b.missed) + "}";
  return out;
}

}  // namespace

ApiServer::ApiServer(asio::any_io_executor ex, std::shared_ptr<AppState> state,
                     runtime::PeerRuntimeHandle* runtime)
    : ex_(ex), acceptor_(ex), state_(std::move(state)), runtime_(runtime) {}

boost::system::result<std::shared_ptr<ApiServer>> ApiServer::start(
    asio::any_io_executor ex, const tcp::endpoint& address, std::shared_ptr<AppState> state,
    runtime::PeerRuntimeHandle* runtime) {
  std::shared_ptr<ApiServer> s(new ApiServer(ex, std::move(state), runtime));
  boost::system::error_code ec;
  s->acceptor_.open(address.protocol(), ec);
  if (!ec) s->acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s->acceptor_.bind(address, ec);
  if (!ec) s->acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  s->port_ = s->acceptor_.local_endpoint().port();
  const std::string port = std::to_string(s->port_);
  const auto ip = address.address();
  const std::string ip_text = ip.is_v6() ? "[" + ip.to_string() + "]" : ip.to_string();
  s->allowed_hosts_ = {"localhost:" + port, "127.0.0.1:" + port, "[::1]:" + port,
                       ip_text + ":" + port};
  asio::co_spawn(ex, s->accept_loop(), asio::detached);
  return s;
}

void ApiServer::stop() {
  stopped_ = true;
  boost::system::error_code ec;
  acceptor_.close(ec);
}

awaitable<void> ApiServer::accept_loop() {
  auto self = shared_from_this();
  while (!stopped_) {
    boost::system::error_code ec;
    tcp::socket socket =
        co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      if (stopped_ || ec == asio::error::operation_aborted) co_return;
      continue;
    }
    asio::co_spawn(ex_, session(std::move(socket)), asio::detached);
  }
}

Response ApiServer::game_action(const Request& req, std::string_view rest) {
  // /api/v1/games/{id}/{action}
  const auto slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string action(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  if (req.method() != http::verb::post)
    return error_json(req, http::status::method_not_allowed, "method", "use POST");
  const runtime::GameView* game = nullptr;
  for (const auto& g : state_->library.games) {
    if (g.info.id == id) game = &g;
  }
  if (game == nullptr) {
    return error_json(req, http::status::not_found, "not_found",
                      "'" + id + "' is not a catalog game");
  }
  const bool busy = state_->operations.contains(id);
  auto conflict = [&](std::string message) {
    return error_json(req, http::status::conflict, "refused", std::move(message));
  };
  auto accepted = [&] {
    return make_json(
        req, http::status::accepted,
        json::serialize(json::object{{"id", id}, {"action", action}, {"accepted", true}}));
  };
  // The runtime checks again (and reports through events); these answers are for people.
  if (action == "install") {
    if (busy) return conflict("an operation is already running on '" + id + "'; wait or cancel it");
    if (!game->downloaded) return conflict("'" + id + "' is not downloaded; download it first");
    runtime_->send(runtime::InstallGame{id});
    return accepted();
  }
  if (action == "download" || action == "update") {
    if (busy) return conflict("an operation is already running on '" + id + "'; wait or cancel it");
    if (!game->available) return conflict("no peer offers '" + id + "' right now");
    if (action == "update" && !game->update_available) {
      return conflict("'" + id + "' is already at the latest version the peers offer");
    }
    runtime_->send(runtime::DownloadGameFiles{id});
    return accepted();
  }
  if (action == "uninstall") {
    if (busy) return conflict("an operation is already running on '" + id + "'; wait or cancel it");
    if (!game->installed) return conflict("'" + id + "' is not installed");
    runtime_->send(runtime::UninstallGame{id});
    return accepted();
  }
  if (action == "remove") {
    if (busy) return conflict("an operation is already running on '" + id + "'; wait or cancel it");
    if (game->installed) return conflict("installed games cannot be removed; uninstall first");
    if (!game->downloaded) return conflict("'" + id + "' is not downloaded");
    runtime_->send(runtime::RemoveDownloadedGame{id});
    return accepted();
  }
  if (action == "cancel") {
    if (!busy) return conflict("nothing is running on '" + id + "'");
    runtime_->send(runtime::CancelOperation{id});
    return accepted();
  }
  return error_json(req, http::status::not_found, "not_found", "no such action: " + action);
}

awaitable<void> ApiServer::stream_events(beast::tcp_stream stream, Request req,
                                         std::string target) {
  auto self = shared_from_this();
  using WebSocket = beast::websocket::stream<beast::tcp_stream>;
  // Shared with the reader coroutine, which may outlive this one by a moment.
  auto ws = std::make_shared<WebSocket>(std::move(stream));
  auto closed = std::make_shared<bool>(false);
  beast::get_lowest_layer(*ws).expires_never();
  ws->set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::server));
  ws->auto_fragment(false);  // one event, one frame
  ws->text(true);
  boost::system::error_code ec;
  co_await ws->async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  std::uint64_t since = parse_u64(query_param(target, "since"), state_->events.next_seq());
  // The reader notices the client going away (clients send nothing else).
  asio::co_spawn(
      ex_,
      [ws, closed]() -> awaitable<void> {
        beast::flat_buffer b;
        boost::system::error_code rec;
        while (!rec) {
          co_await ws->async_read(b, asio::redirect_error(asio::use_awaitable, rec));
          b.clear();
        }
        *closed = true;
      },
      asio::detached);
  while (!*closed && !stopped_) {
    since = std::min(since, state_->events.next_seq());
    const EventBatch batch = state_->events.read(since);
    if (batch.missed) {
      // A slow client is told what it missed instead of slowing anyone down.
      const std::string note =
          R"({"type":"missed","data":{"count":)" + std::to_string(batch.missed) + "}}";
      co_await ws->async_write(asio::buffer(note), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    for (const auto* e : batch.events) {
      co_await ws->async_write(asio::buffer(e->json),
                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (ec) break;
    since = batch.next;
    if (batch.events.empty()) co_await state_->events.wait(since, std::chrono::seconds(5));
  }
  if (!*closed) {
    co_await ws->async_close(beast::websocket::close_code::going_away,
                             asio::redirect_error(asio::use_awaitable, ec));
  }
}

awaitable<void> ApiServer::session(tcp::socket socket) {
  auto self = shared_from_this();
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxBody);
    stream.expires_after(std::chrono::seconds(30));
    boost::system::error_code ec;
    co_await http::async_read(stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;  // closed, timed out, or malformed
    Request req = parser.release();
    const std::string target(req.target());
    const std::string path = target.substr(0, target.find('?'));
    Response res;

    // DNS rebinding and cross-site protection: the Host must name us, and a browser's
    // Origin, when sent, must be our own page.
    const std::string host(req[http::field::host]);
    const std::string origin(req[http::field::origin]);
    if (!allowed_hosts_.contains(host)) {
      res = error_json(req, http::status::forbidden, "bad_host",
                       "requests must be addressed to this daemon (Host: localhost:" +
                           std::to_string(port_) + ")");
    } else if (!origin.empty() && origin != "http://" + host) {
      res =
          error_json(req, http::status::forbidden, "bad_origin", "cross-site requests are refused");
    } else if (path == "/api/v1/events/ws" && beast::websocket::is_upgrade(req)) {
      co_await stream_events(std::move(stream), std::move(req), target);
      co_return;
    } else if (path == "/api/v1/status") {
      res = req.method() == http::verb::get
                ? make_json(req, http::status::ok, json::serialize(state_->status_json()))
                : error_json(req, http::status::method_not_allowed, "method", "use GET");
    } else if (path == "/api/v1/games") {
      res = req.method() == http::verb::get
                ? make_json(req, http::status::ok, json::serialize(state_->games_json()))
                : error_json(req, http::status::method_not_allowed, "method", "use GET");
    } else if (path == "/api/v1/peers") {
      res = req.method() == http::verb::get
                ? make_json(req, http::status::ok, json::serialize(state_->peers_json()))
                : error_json(req, http::status::method_not_allowed, "method", "use GET");
    } else if (path == "/api/v1/settings/games-dir") {
      if (req.method() == http::verb::get) {
        res = make_json(req, http::status::ok,
                        json::serialize(json::object{{"path", state_->games_dir.string()}}));
      } else if (req.method() != http::verb::put) {
        res = error_json(req, http::status::method_not_allowed, "method", "use GET or PUT");
      } else {
        boost::system::error_code jec;
        const json::value body = json::parse(req.body(), jec);
        const json::value* p =
            (!jec && body.is_object()) ? body.get_object().if_contains("path") : nullptr;
        if (p == nullptr || !p->is_string()) {
          res = error_json(req, http::status::bad_request, "bad_request",
                           R"(send a JSON object like {"path": "/srv/games"})");
        } else if (auto ok = runtime::validate_games_dir(std::string(p->get_string())); !ok) {
          res = error_json(req, http::status::bad_request, "games_dir_invalid",
                           std::string(p->get_string()) + ": " + ok.error().message());
        } else {
          runtime_->send(runtime::SetGameDir{std::string(p->get_string())});
          res = make_json(req, http::status::ok,
                          json::serialize(json::object{{"path", p->get_string()}}));
        }
      }
    } else if (path.starts_with("/api/v1/games/")) {
      res = game_action(req, path.substr(std::string_view("/api/v1/games/").size()));
    } else if (path == "/api/v1/events") {
      if (req.method() != http::verb::get) {
        res = error_json(req, http::status::method_not_allowed, "method", "use GET");
      } else {
        std::uint64_t since = parse_u64(query_param(target, "since"), 0);
        since = std::min(since, state_->events.next_seq());
        const auto timeout = std::chrono::milliseconds(
            std::min<std::uint64_t>(parse_u64(query_param(target, "timeout_ms"), 25'000),
                                    std::chrono::milliseconds(kLongPollMax).count()));
        if (state_->events.read(since).events.empty()) co_await state_->events.wait(since, timeout);
        res = make_json(req, http::status::ok, batch_json(state_->events.read(since)));
      }
    } else {
      res = error_json(req, http::status::not_found, "not_found", "no such endpoint: " + path);
    }
    co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !res.keep_alive()) co_return;
  }
}

}  // namespace lanspread::app
