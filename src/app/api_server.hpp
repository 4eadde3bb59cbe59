// The daemon's local HTTP API v1 and WebSocket event stream (docs/api.md), on Boost.Beast,
// running on the runtime's network thread (every member function too). Loopback only by
// default. Every request must name the daemon in its Host and, with an Origin, come from its
// own origin; /api/ requests need the API key or a browser session (ApiAuth). Connections,
// WebSocket clients, header and body sizes and every wait are bounded (ApiLimits).
#pragma once

#include "app/api_auth.hpp"
#include "app/api_limits.hpp"
#include "app/app_state.hpp"
#include "app/http_util.hpp"
#include "runtime/commands.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/json/object.hpp>

#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <set>

namespace lanspread::app {

struct ApiServerConfig {
  boost::asio::ip::tcp::endpoint address;
  std::string key;                 // the API key (api_key.hpp)
  std::filesystem::path key_path;  // named in 401 answers
  ApiLimits limits;
  AuthLimits auth;
  // Where a games dir changed through the API is saved (empty: not saved), by a task on
  // `blocking`.
  std::filesystem::path config_file;
  // Where blocking work (saving the settings file) runs; empty: inline (tests).
  boost::asio::any_io_executor blocking;
};

// Where game actions and settings go: the runtime's send() in the daemon. The decision
// function is called once, on the network thread, when the runtime has decided.
using CommandSink = std::function<void(runtime::PeerCommand, runtime::DecisionFn)>;

// Keeps one of the server's counters honest on every exit path of a coroutine.
class CountedSlot {
 public:
  explicit CountedSlot(std::size_t& n) : n_(n) { ++n_; }
  CountedSlot(const CountedSlot&) = delete;
  CountedSlot& operator=(const CountedSlot&) = delete;
  ~CountedSlot() { --n_; }

 private:
  std::size_t& n_;
};

class ApiServer : public std::enable_shared_from_this<ApiServer> {
 public:
  // Binds the address; serving starts on the executor.
  static boost::system::result<std::shared_ptr<ApiServer>> start(boost::asio::any_io_executor ex,
                                                                 ApiServerConfig config,
                                                                 std::shared_ptr<AppState> state,
                                                                 CommandSink send);
  std::uint16_t port() const { return port_; }
  // A new one-time login URL for a browser (http://127.0.0.1:PORT/login?token=…).
  result<std::string> login_url();
  void stop();

  std::size_t connection_count() const { return connections_; }
  std::size_t websocket_count() const { return websockets_; }

 private:
  ApiServer(boost::asio::any_io_executor ex, ApiServerConfig config,
            std::shared_ptr<AppState> state, CommandSink send);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket);
  // Answers (api_routes.cpp): route() those that need no waiting; game actions and the games
  // dir wait for the runtime's decision (at most limits.decision_timeout).
  boost::asio::awaitable<Response> answer(const Request& req, const std::string& path);
  Response route(const Request& req, const std::string& path);
  boost::asio::awaitable<Response> game_action(const Request& req, std::string_view rest);
  boost::asio::awaitable<Response> games_dir(const Request& req);
  // Sends `command`; nullopt when the runtime did not decide in time.
  boost::asio::awaitable<std::optional<runtime::CommandDecision>> ask(runtime::PeerCommand command);
  Response undecided(const Request& req) const;
  boost::json::object settings_object() const;
  Response add_peer(const Request& req);
  Response remove_peer(const Request& req, std::string_view address);
  Response login(const Request& req, std::string_view target);
  // Events (api_events.cpp).
  boost::asio::awaitable<Response> long_poll(const Request& req, std::string_view target);
  boost::asio::awaitable<void> stream_events(boost::beast::tcp_stream stream, Request req,
                                             std::string target);

  boost::asio::any_io_executor ex_;
  boost::asio::ip::tcp::acceptor acceptor_;
  ApiServerConfig config_;
  ApiAuth auth_;
  std::shared_ptr<AppState> state_;
  CommandSink send_;
  std::uint16_t port_ = 0;
  std::string login_host_;  // the host of login URLs ("127.0.0.1:7878")
  std::size_t connections_ = 0;
  std::size_t websockets_ = 0;
  // Connections that have not made an authenticated request yet, oldest first. When every
  // slot is taken, the oldest of them that waits for a request is closed to make room, so
  // idle strangers cannot lock the user out (docs/security.md, "Local API").
  struct Unproven {
    boost::asio::ip::tcp::socket* socket;
    bool reading = false;  // waiting for (the rest of) a request
    bool evicted = false;
  };
  std::list<Unproven> unproven_;
  std::size_t evicting_ = 0;  // evicted connections whose session has not ended yet
  // Closes the oldest unproven connection that waits for a request; false if none.
  bool evict_unproven();
  bool stopped_ = false;
};

}  // namespace lanspread::app
