// The command line's client of the daemon's local API (docs/api.md): JSON requests and the
// WebSocket event stream, on Boost.Beast, driven from the calling thread (each call runs the
// client's own io_context until the call is done). Every wait has a deadline (ClientLimits).
// Not thread-safe; one client per process is the intended use.
#pragma once

#include "app/cli_limits.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/value.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lanspread::app::cli {

enum class ClientErrc {
  daemon_not_running = 1,  // nothing listens at the address (or it did not accept in time)
  timed_out,               // the daemon accepted but did not answer in time
  bad_answer,              // not HTTP, not JSON, or larger than the limits allow
  interrupted,             // SIGINT or SIGTERM arrived (after catch_interrupts())
  stream_closed,           // the daemon ended the event stream (it is stopping)
  connection_lost,         // the connection broke in the middle of an exchange
};
const boost::system::error_category& client_category() noexcept;
inline boost::system::error_code make_error_code(ClientErrc e) noexcept {
  return {static_cast<int>(e), client_category()};
}

template <class T>
using ClientResult = boost::system::result<T>;

// An answer of the daemon. Every status is a value here; the caller decides what it means.
struct Reply {
  unsigned status = 0;
  boost::json::value body;  // null when the answer had no body

  // The API's {"error":{"code","message"}}, or empty strings.
  std::string error_code() const;
  std::string error_message() const;
};

class DaemonClient {
 public:
  // `host` is what the Host header says (the API accepts only its own names); an empty
  // `api_key` sends no Authorization header.
  DaemonClient(boost::asio::ip::tcp::endpoint endpoint, std::string host, std::string api_key,
               ClientLimits limits = {});
  ~DaemonClient();
  DaemonClient(const DaemonClient&) = delete;
  DaemonClient& operator=(const DaemonClient&) = delete;

  // One request on a connection of its own. `body`, when given, is sent as JSON.
  ClientResult<Reply> request(boost::beast::http::verb verb, std::string_view target,
                              const boost::json::value* body = nullptr);
  ClientResult<Reply> get(std::string_view target) {
    return request(boost::beast::http::verb::get, target);
  }

  // Subscribes to the events numbered `since` and later (GET /api/v1/events/ws?since=N).
  // Status 101 means subscribed; any other status is the daemon's refusal, as a Reply.
  ClientResult<Reply> open_events(std::uint64_t since);
  // The next event ({"seq","type","data"}), or nullopt when `wait` passes first (the
  // subscription stays). A signal caught since the last call ends the wait at once with
  // ClientErrc::interrupted (once per signal).
  ClientResult<std::optional<boost::json::value>> next_event(std::chrono::milliseconds wait);

  // From now on SIGINT and SIGTERM no longer end the process: the first one interrupts
  // the current or the next event wait. A second one ends the process at once with
  // `second_signal_exit` (after writing "\n" to stderr, so a redrawn line is closed).
  void catch_interrupts(int second_signal_exit);
  bool interrupt_pending() const { return pending_interrupt_; }

  const std::string& host() const { return host_; }

 private:
  template <class Op>
  void run_until_done(Op op);
  void start_event_read();
  void arm_signals();

  boost::asio::io_context io_;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::string host_;
  std::string api_key_;
  ClientLimits limits_;

  using WebSocket = boost::beast::websocket::stream<boost::beast::tcp_stream>;
  std::unique_ptr<WebSocket> events_;
  boost::beast::flat_buffer event_buffer_;
  bool read_pending_ = false;
  std::optional<ClientResult<boost::json::value>> read_result_;

  std::unique_ptr<boost::asio::signal_set> signals_;
  bool pending_interrupt_ = false;
  int signals_seen_ = 0;
  int second_signal_exit_ = 130;
};

}  // namespace lanspread::app::cli

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::app::cli::ClientErrc> : std::true_type {};
}  // namespace boost::system
