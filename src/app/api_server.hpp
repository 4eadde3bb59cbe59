// The daemon's local HTTP API v1 and WebSocket event stream (docs/api.md), on Boost.Beast,
// running on the runtime's network thread. Loopback only by default; requests whose Host or
// Origin is not the daemon's own are refused (DNS rebinding, cross-site requests).
#pragma once

#include "app/app_state.hpp"
#include "runtime/peer_runtime.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <memory>
#include <set>

namespace lanspread::app {

class ApiServer : public std::enable_shared_from_this<ApiServer> {
 public:
  // Binds `address`; serving starts on the executor. `runtime` must outlive the server.
  static boost::system::result<std::shared_ptr<ApiServer>> start(
      boost::asio::any_io_executor ex, const boost::asio::ip::tcp::endpoint& address,
      std::shared_ptr<AppState> state, runtime::PeerRuntimeHandle* runtime);
  std::uint16_t port() const { return port_; }
  void stop();

 private:
  ApiServer(boost::asio::any_io_executor ex, std::shared_ptr<AppState> state,
            runtime::PeerRuntimeHandle* runtime);
  boost::asio::awaitable<void> accept_loop();
  boost::asio::awaitable<void> session(boost::asio::ip::tcp::socket socket);
  boost::beast::http::response<boost::beast::http::string_body> game_action(
      const boost::beast::http::request<boost::beast::http::string_body>& req,
      std::string_view rest);
  boost::asio::awaitable<void> stream_events(
      boost::beast::tcp_stream stream,
      boost::beast::http::request<boost::beast::http::string_body> req, std::string target);

  boost::asio::any_io_executor ex_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<AppState> state_;
  runtime::PeerRuntimeHandle* runtime_;
  std::uint16_t port_ = 0;
  std::set<std::string> allowed_hosts_;
  bool stopped_ = false;
};

}  // namespace lanspread::app
