// The API's answers that need no waiting: status, games, peers, settings, game actions,
// login URLs and the browser login page.
#include "app/api_server.hpp"
#include "runtime/manual_peers.hpp"
#include "runtime/peer_runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <optional>

namespace lanspread::app {
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// "%5Bfe80%3A%3A1%5D%3A7979" -> "[fe80::1]:7979"; a malformed escape stays as it is.
std::string percent_decode(std::string_view in) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size()) {
      const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
      };
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(in[i]);
  }
  return out;
}

// The string `key` of a JSON object body, or nothing (not JSON, not an object, no such string).
std::optional<std::string> string_field(const Request& req, std::string_view key) {
  boost::system::error_code ec;
  const json::value body = json::parse(req.body(), ec);
  const json::value* v = (!ec && body.is_object()) ? body.get_object().if_contains(key) : nullptr;
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}

Response get_only(const Request& req, const json::value& body) {
  return req.method() == http::verb::get
             ? make_json(req, http::status::ok, json::serialize(body))
             : error_json(req, http::status::method_not_allowed, "method", "use GET");
}

constexpr std::string_view kLoginRefused = R"html(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lanspread: login link not valid</title></head>
<body><h1>This login link is not valid</h1>
<p>A login link works once and for 10 minutes, and only until the daemon restarts.</p>
<p>To get a new one, restart <code>lanspread serve</code> (it prints one when it starts), or ask
the daemon with its API key:</p>
<pre>curl -X POST -H "Authorization: Bearer $(cat ~/.local/share/lanspread/state/api-key)" \
  http://127.0.0.1:7878/api/v1/login-url</pre>
</body></html>
)html";

}  // namespace

Response ApiServer::route(const Request& req, const std::string& path) {
  if (path == "/api/v1/status") return get_only(req, state_->status_json());
  if (path == "/api/v1/games") return get_only(req, state_->games_json());
  if (path == "/api/v1/peers") {
    if (req.method() == http::verb::post) return add_peer(req);
    return get_only(req, state_->peers_json());
  }
  if (path.starts_with("/api/v1/peers/"))
    return remove_peer(req,
                       std::string_view(path).substr(std::string_view("/api/v1/peers/").size()));
  if (path == "/api/v1/settings/games-dir") return games_dir(req);
  if (path == "/api/v1/login-url") {
    if (req.method() != http::verb::post)
      return error_json(req, http::status::method_not_allowed, "method", "use POST");
    auto url = login_url();
    if (!url)
      return error_json(req, http::status::internal_server_error, "internal",
                        url.error().message());
    return make_json(req, http::status::ok, json::serialize(json::object{{"url", *url}}));
  }
  if (path.starts_with("/api/v1/games/"))
    return game_action(req,
                       std::string_view(path).substr(std::string_view("/api/v1/games/").size()));
  return error_json(req, http::status::not_found, "not_found", "no such endpoint: " + path);
}

Response ApiServer::add_peer(const Request& req) {
  const auto a = string_field(req, "address");
  if (!a) {
    return error_json(req, http::status::bad_request, "bad_request",
                      R"(send a JSON object like {"address": "192.168.1.20:7979"})");
  }
  std::string why;
  const auto parsed = runtime::parse_manual_address(*a, runtime::PeerLimits{}.min_port, why);
  if (!parsed) return error_json(req, http::status::bad_request, "bad_address", why);
  const std::string text = parsed->text();
  const auto& manual = state_->manual_peers;
  const bool known =
      std::any_of(manual.begin(), manual.end(), [&](const auto& m) { return m.address == text; });
  const std::size_t cap = runtime::PeerLimits{}.max_manual_peers;
  if (!known && manual.size() >= cap) {
    return error_json(req, http::status::conflict, "too_many_peers",
                      "at most " + std::to_string(cap) + " manual peers; remove one first");
  }
  send_(runtime::AddManualPeer{text});
  return make_json(req, known ? http::status::ok : http::status::created,
                   json::serialize(json::object{{"address", text}, {"added", !known}}));
}

Response ApiServer::remove_peer(const Request& req, std::string_view raw) {
  if (req.method() != http::verb::delete_)
    return error_json(req, http::status::method_not_allowed, "method", "use DELETE");
  const std::string given = percent_decode(raw);
  std::string why;
  const auto parsed = runtime::parse_manual_address(given, 0, why);
  const std::string text = parsed ? parsed->text() : given;
  const auto& manual = state_->manual_peers;
  if (std::none_of(manual.begin(), manual.end(),
                   [&](const auto& m) { return m.address == text; })) {
    return error_json(req, http::status::not_found, "not_found",
                      "'" + given + "' is not a manual peer (GET /api/v1/peers lists them)");
  }
  send_(runtime::RemoveManualPeer{text});
  return make_json(req, http::status::ok,
                   json::serialize(json::object{{"address", text}, {"removed", true}}));
}

Response ApiServer::games_dir(const Request& req) {
  if (req.method() == http::verb::get) {
    return make_json(req, http::status::ok,
                     json::serialize(json::object{{"path", state_->games_dir.string()}}));
  }
  return error_json(req, http::status::method_not_allowed, "method", "use GET or PUT");
}

boost::asio::awaitable<Response> ApiServer::put_games_dir(const Request& req) {
  boost::system::error_code jec;
  const json::value body = json::parse(req.body(), jec);
  const json::value* p =
      (!jec && body.is_object()) ? body.get_object().if_contains("path") : nullptr;
  if (p == nullptr || !p->is_string()) {
    co_return error_json(req, http::status::bad_request, "bad_request",
                         R"(send a JSON object like {"path": "/srv/games"})");
  }
  const std::string dir(p->get_string());
  // stat() and access() can hang on a dead network mount: never on the network thread.
  auto check = [dir]() -> boost::asio::awaitable<boost::system::result<void>> {
    co_return runtime::validate_games_dir(dir);
  };
  auto ok = config_.blocking ? co_await boost::asio::co_spawn(config_.blocking, check,
                                                              boost::asio::use_awaitable)
                             : runtime::validate_games_dir(dir);
  if (!ok) {
    co_return error_json(req, http::status::bad_request, "games_dir_invalid",
                         dir + ": " + ok.error().message());
  }
  send_(runtime::SetGameDir{dir});
  co_return make_json(req, http::status::ok, json::serialize(json::object{{"path", dir}}));
}

Response ApiServer::game_action(const Request& req, std::string_view rest) {
  // /api/v1/games/{id}/{action}
  const auto slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string action(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  if (slash == std::string_view::npos) {  // GET /api/v1/games/{id}: one game
    if (req.method() != http::verb::get)
      return error_json(req, http::status::method_not_allowed, "method", "use GET");
    auto one = state_->game_json(id);
    if (!one) {
      return error_json(req, http::status::not_found, "not_found",
                        "'" + id + "' is not a catalog game");
    }
    return make_json(req, http::status::ok, json::serialize(*one));
  }
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
  auto conflict = [&](std::string message, std::string code = "refused") {
    return error_json(req, http::status::conflict, std::move(code), std::move(message));
  };
  auto accepted = [&](runtime::PeerCommand command) {
    send_(std::move(command));
    return make_json(
        req, http::status::accepted,
        json::serialize(json::object{{"id", id}, {"action", action}, {"accepted", true}}));
  };
  const std::string running = "an operation is already running on '" + id + "'; wait or cancel it";
  // The runtime checks again (and reports through events); these answers are for people.
  if (action == "install") {
    if (busy) return conflict(running);
    if (!game->downloaded) return conflict("'" + id + "' is not downloaded; download it first");
    return accepted(runtime::InstallGame{id});
  }
  if (action == "download" || action == "update") {
    if (busy) return conflict(running);
    if (!game->available) return conflict("no peer offers '" + id + "' right now");
    if (auto no = runtime::check_download(id, game->downloaded, game->local_version,
                                          runtime::peers_latest(*game)))
      return conflict(std::move(no->message), std::move(no->code));
    if (action == "update" && !game->update_available) {
      return conflict("'" + id + "' is not downloaded; download it first", "not_downloaded");
    }
    return accepted(runtime::DownloadGameFiles{id});
  }
  if (action == "verify") {
    if (busy) return conflict(running);
    const auto holders = game->peers_by_version.find(game->local_version);
    const bool offered = holders != game->peers_by_version.end() && !holders->second.empty();
    if (auto no = runtime::check_verify(id, game->downloaded, game->local_version, offered))
      return conflict(std::move(no->message), std::move(no->code));
    return accepted(runtime::VerifyGame{id});
  }
  if (action == "uninstall") {
    if (busy) return conflict(running);
    if (!game->installed) return conflict("'" + id + "' is not installed");
    return accepted(runtime::UninstallGame{id});
  }
  if (action == "remove") {
    if (busy) return conflict(running);
    if (game->installed) return conflict("installed games cannot be removed; uninstall first");
    if (!game->downloaded) return conflict("'" + id + "' is not downloaded");
    return accepted(runtime::RemoveDownloadedGame{id});
  }
  if (action == "cancel") {
    if (!busy) return conflict("nothing is running on '" + id + "'");
    return accepted(runtime::CancelOperation{id});
  }
  return error_json(req, http::status::not_found, "not_found", "no such action: " + action);
}

Response ApiServer::login(const Request& req, std::string_view target) {
  if (req.method() != http::verb::get)
    return error_json(req, http::status::method_not_allowed, "method", "use GET");
  const auto token = query_param(target, "token");
  auto session = auth_.redeem_login_token(token.value_or(""), std::chrono::steady_clock::now());
  if (!session) {
    return error_json(req, http::status::internal_server_error, "internal",
                      session.error().message());
  }
  if (!*session) return make_html(req, http::status::forbidden, std::string(kLoginRefused));
  Response res{http::status::see_other, req.version()};
  res.set(http::field::location, "/");
  res.set(http::field::set_cookie, session_cookie(**session));
  res.set(http::field::cache_control, "no-store");
  res.set("Referrer-Policy", "no-referrer");
  res.keep_alive(req.keep_alive());
  res.prepare_payload();
  return res;
}

}  // namespace lanspread::app
