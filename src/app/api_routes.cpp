// The API's answers: those that need no waiting (status, games, peers, settings, login URLs,
// the browser login page) and those that wait for the runtime's decision (game actions, the
// games dir).
#include "app/api_server.hpp"
#include "runtime/manual_peers.hpp"
#include "runtime/peer_runtime.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <optional>

namespace lanspread::app {
namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::awaitable;
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

awaitable<Response> ApiServer::answer(const Request& req, const std::string& path) {
  if (path == "/api/v1/settings/games-dir") co_return co_await games_dir(req);
  if (path.starts_with("/api/v1/games/")) {
    co_return co_await game_action(
        req, std::string_view(path).substr(std::string_view("/api/v1/games/").size()));
  }
  co_return route(req, path);
}

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
  if (path == "/api/v1/settings") return get_only(req, state_->settings_json());
  if (path == "/api/v1/login-url") {
    if (req.method() != http::verb::post)
      return error_json(req, http::status::method_not_allowed, "method", "use POST");
    auto url = login_url();
    if (!url)
      return error_json(req, http::status::internal_server_error, "internal",
                        url.error().message());
    return make_json(req, http::status::ok, json::serialize(json::object{{"url", *url}}));
  }
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
  send_(runtime::AddManualPeer{text}, {});
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
  send_(runtime::RemoveManualPeer{text}, {});
  return make_json(req, http::status::ok,
                   json::serialize(json::object{{"address", text}, {"removed", true}}));
}

awaitable<std::optional<runtime::CommandDecision>> ApiServer::ask(runtime::PeerCommand command) {
  auto wake = std::make_shared<asio::steady_timer>(ex_, config_.limits.decision_timeout);
  auto answer = std::make_shared<std::optional<runtime::CommandDecision>>();
  send_(std::move(command), [wake, answer](const runtime::CommandDecision& d) {
    *answer = d;
    wake->cancel();
  });
  boost::system::error_code ec;
  co_await wake->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  co_return *answer;
}

Response ApiServer::undecided(const Request& req) const {
  return error_json(req, http::status::gateway_timeout, "timed_out",
                    "the daemon did not decide within " +
                        std::to_string(config_.limits.decision_timeout.count()) +
                        " s; see the event stream or GET /api/v1/status");
}

awaitable<Response> ApiServer::games_dir(const Request& req) {
  if (req.method() == http::verb::get) {
    co_return make_json(req, http::status::ok,
                        json::serialize(json::object{{"path", state_->games_dir.string()}}));
  }
  if (req.method() != http::verb::put)
    co_return error_json(req, http::status::method_not_allowed, "method", "use GET or PUT");
  boost::system::error_code jec;
  const json::value body = json::parse(req.body(), jec);
  const json::value* p =
      (!jec && body.is_object()) ? body.get_object().if_contains("path") : nullptr;
  if (p == nullptr || !p->is_string() || p->get_string().empty() ||
      p->get_string().find('\0') != json::string::npos) {
    co_return error_json(req, http::status::bad_request, "bad_request",
                         R"(send a JSON object like {"path": "/srv/games"})");
  }
  const std::filesystem::path dir(std::string(p->get_string()));
  if (!dir.is_absolute()) {
    co_return error_json(req, http::status::bad_request, "games_dir_invalid",
                         dir.string() + ": give an absolute path");
  }
  // The runtime checks the directory and repairs it off the network thread; this answers
  // what it decided.
  auto decided = co_await ask(runtime::SetGameDir{dir});
  if (!decided) co_return undecided(req);
  if (!decided->accepted) {
    const bool invalid = decided->code == "games_dir_invalid";
    co_return error_json(req, invalid ? http::status::bad_request : http::status::conflict,
                         invalid ? "games_dir_invalid" : "refused",
                         dir.string() + ": " + decided->reason);
  }
  json::object answer = settings_object();
  answer["path"] = dir.string();
  answer["games_dir"] = dir.string();
  if (!config_.config_file.empty()) {
    // Saved off the network thread; the switch itself has happened either way.
    auto saved = co_await asio::co_spawn(
        config_.blocking,
        [file = config_.config_file, dir]() -> awaitable<std::string> {
          auto r = save_games_dir(file, dir);
          co_return r ? std::string() : r.error().message;
        },
        asio::use_awaitable);
    answer["saved"] = saved.empty();
    if (!saved.empty()) {
      spdlog::warn("games dir {} is in use but not saved: {}", dir.string(), saved);
      answer["save_error"] = saved;
    }
  } else {
    answer["saved"] = false;
  }
  co_return make_json(req, http::status::ok, json::serialize(answer));
}

json::object ApiServer::settings_object() const {
  return state_->settings_json().as_object();
}

awaitable<Response> ApiServer::game_action(const Request& req, std::string_view rest) {
  // /api/v1/games/{id}/{action}
  const auto slash = rest.find('/');
  const std::string id(rest.substr(0, slash));
  const std::string action(slash == std::string_view::npos ? "" : rest.substr(slash + 1));
  if (slash == std::string_view::npos) {  // GET /api/v1/games/{id}: one game
    if (req.method() != http::verb::get)
      co_return error_json(req, http::status::method_not_allowed, "method", "use GET");
    auto one = state_->game_json(id);
    if (!one) {
      co_return error_json(req, http::status::not_found, "not_found",
                           "'" + id + "' is not a catalog game");
    }
    co_return make_json(req, http::status::ok, json::serialize(*one));
  }
  if (req.method() != http::verb::post)
    co_return error_json(req, http::status::method_not_allowed, "method", "use POST");
  const runtime::GameView* game = nullptr;
  for (const auto& g : state_->library.games) {
    if (g.info.id == id) game = &g;
  }
  if (game == nullptr) {
    co_return error_json(req, http::status::not_found, "not_found",
                         "'" + id + "' is not a catalog game");
  }
  const bool busy = state_->operations.contains(id);
  auto conflict = [&](std::string message, std::string code = "refused") {
    return error_json(req, http::status::conflict, std::move(code), std::move(message));
  };
  const std::string running = "an operation is already running on '" + id + "'; wait or cancel it";
  // Answers for people from the API's view; the runtime decides (and checks again).
  std::optional<runtime::PeerCommand> command;
  if (action == "install") {
    if (busy) co_return conflict(running);
    if (!game->downloaded) co_return conflict("'" + id + "' is not downloaded; download it first");
    command = runtime::InstallGame{id};
  } else if (action == "download" || action == "update") {
    if (busy) co_return conflict(running);
    if (!game->available) co_return conflict("no peer offers '" + id + "' right now");
    if (auto no = runtime::check_download(id, game->downloaded, game->local_version,
                                          runtime::peers_latest(*game)))
      co_return conflict(std::move(no->message), std::move(no->code));
    if (action == "update" && !game->update_available) {
      co_return conflict("'" + id + "' is not downloaded; download it first", "not_downloaded");
    }
    command = runtime::DownloadGameFiles{id};
  } else if (action == "verify") {
    if (busy) co_return conflict(running);
    const auto holders = game->peers_by_version.find(game->local_version);
    const bool offered = holders != game->peers_by_version.end() && !holders->second.empty();
    if (auto no = runtime::check_verify(id, game->downloaded, game->local_version, offered))
      co_return conflict(std::move(no->message), std::move(no->code));
    command = runtime::VerifyGame{id};
  } else if (action == "uninstall") {
    if (busy) co_return conflict(running);
    if (!game->installed) co_return conflict("'" + id + "' is not installed");
    command = runtime::UninstallGame{id};
  } else if (action == "remove") {
    if (busy) co_return conflict(running);
    if (game->installed) co_return conflict("installed games cannot be removed; uninstall first");
    if (!game->downloaded) co_return conflict("'" + id + "' is not downloaded");
    command = runtime::RemoveDownloadedGame{id};
  } else if (action == "cancel") {
    if (!busy) co_return conflict("nothing is running on '" + id + "'");
    command = runtime::CancelOperation{id};
  } else {
    co_return error_json(req, http::status::not_found, "not_found", "no such action: " + action);
  }
  auto decided = co_await ask(std::move(*command));
  if (!decided) co_return undecided(req);
  if (!decided->accepted) {
    co_return error_json(req, http::status::conflict,
                         decided->code.empty() ? "refused" : decided->code, decided->reason);
  }
  co_return make_json(
      req, http::status::accepted,
      json::serialize(json::object{{"id", id}, {"action", action}, {"accepted", true}}));
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
