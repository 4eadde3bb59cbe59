#include "app/cli_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>

namespace lanspread::app::cli {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace json = boost::json;
using boost::system::error_code;

namespace {

class ClientCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.cli"; }
  std::string message(int ev) const override {
    switch (static_cast<ClientErrc>(ev)) {
      case ClientErrc::daemon_not_running:
        return "no lanspread daemon answers at this address";
      case ClientErrc::timed_out:
        return "the daemon did not answer in time";
      case ClientErrc::bad_answer:
        return "the daemon's answer is not valid API JSON, or too large";
      case ClientErrc::interrupted:
        return "interrupted";
      case ClientErrc::stream_closed:
        return "the daemon closed the event stream (it is stopping)";
      case ClientErrc::connection_lost:
        return "the connection to the daemon broke";
    }
    return "unknown client error";
  }
};

const char* const kUserAgent = "lanspread-cli/" LANSPREAD_VERSION;

// What a failed exchange means to a person, once the connection was made.
error_code exchange_error(const error_code& ec) {
  if (ec == beast::error::timeout) return ClientErrc::timed_out;
  if (ec == http::error::body_limit || ec == http::error::header_limit ||
      ec == websocket::error::message_too_big)
    return ClientErrc::bad_answer;
  if (ec == websocket::error::closed) return ClientErrc::stream_closed;
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
    return ClientErrc::connection_lost;
  // What remains from the HTTP or WebSocket parser is an answer that breaks the protocol.
  if (ec.category() == error_code(http::error::bad_version).category() ||
      ec.category() == error_code(websocket::error::bad_http_version).category())
    return ClientErrc::bad_answer;
  return ClientErrc::connection_lost;
}

ClientResult<json::value> parse_body(std::string_view body, std::size_t max) {
  if (body.empty()) return json::value(nullptr);
  if (body.size() > max) return make_error_code(ClientErrc::bad_answer);
  error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return make_error_code(ClientErrc::bad_answer);
  return v;
}

}  // namespace

const boost::system::error_category& client_category() noexcept {
  static const ClientCategory category;
  return category;
}

std::string Reply::error_code() const {
  const json::value* e = body.is_object() ? body.get_object().if_contains("error") : nullptr;
  const json::value* c = e && e->is_object() ? e->get_object().if_contains("code") : nullptr;
  return c && c->is_string() ? std::string(c->get_string()) : std::string();
}

std::string Reply::error_message() const {
  const json::value* e = body.is_object() ? body.get_object().if_contains("error") : nullptr;
  const json::value* m = e && e->is_object() ? e->get_object().if_contains("message") : nullptr;
  return m && m->is_string() ? std::string(m->get_string()) : std::string();
}

DaemonClient::DaemonClient(asio::ip::tcp::endpoint endpoint, std::string host, std::string api_key,
                           ClientLimits limits)
    : endpoint_(endpoint), host_(std::move(host)), api_key_(std::move(api_key)), limits_(limits) {}

DaemonClient::~DaemonClient() {
  // Let pending handlers finish (aborted) while the members they touch still exist.
  if (events_) {
    error_code ec;
    beast::get_lowest_layer(*events_).socket().close(ec);
  }
  if (signals_) {
    error_code ec;
    signals_->cancel(ec);
  }
  io_.restart();
  io_.poll();
}

template <class Op>
void DaemonClient::run_until_done(Op op) {
  bool done = false;
  asio::co_spawn(io_, std::move(op), [&done](std::exception_ptr) { done = true; });
  while (!done) {
    if (io_.stopped()) io_.restart();
    io_.run_one();
  }
}

ClientResult<Reply> DaemonClient::request(http::verb verb, std::string_view target,
                                          const json::value* body) {
  std::optional<ClientResult<Reply>> out;
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host_);
  req.set(http::field::user_agent, kUserAgent);
  req.set(http::field::accept, "application/json");
  if (!api_key_.empty()) req.set(http::field::authorization, "Bearer " + api_key_);
  if (body != nullptr) {
    req.set(http::field::content_type, "application/json");
    req.body() = json::serialize(*body);
  }
  req.keep_alive(false);
  req.prepare_payload();
  run_until_done([&]() -> asio::awaitable<void> {
    beast::tcp_stream stream(io_);
    error_code ec;
    stream.expires_after(limits_.connect_timeout);
    co_await stream.async_connect(endpoint_, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      out = make_error_code(ClientErrc::daemon_not_running);
      co_return;
    }
    stream.expires_after(limits_.request_timeout);
    co_await http::async_write(stream, req, asio::redirect_error(asio::use_awaitable, ec));
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(limits_.response_header_max));
    parser.body_limit(limits_.response_body_max);
    if (!ec) {
      co_await http::async_read(stream, buffer, parser,
                                asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      out = exchange_error(ec);
      co_return;
    }
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    auto res = parser.release();
    auto parsed = parse_body(res.body(), limits_.response_body_max);
    if (!parsed) {
      out = parsed.error();
      co_return;
    }
    out = Reply{res.result_int(), std::move(*parsed)};
  });
  return std::move(*out);
}

ClientResult<Reply> DaemonClient::open_events(std::uint64_t since) {
  std::optional<ClientResult<Reply>> out;
  if (events_) {
    error_code ec;
    beast::get_lowest_layer(*events_).socket().close(ec);
  }
  // A read still pending on the old stream finishes (aborted) before the new one starts.
  while (read_pending_) io_.run_one();
  read_result_.reset();
  event_buffer_.clear();
  events_ = std::make_unique<WebSocket>(io_);
  run_until_done([&]() -> asio::awaitable<void> {
    WebSocket& ws = *events_;
    error_code ec;
    beast::get_lowest_layer(ws).expires_after(limits_.connect_timeout);
    co_await beast::get_lowest_layer(ws).async_connect(
        endpoint_, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      out = make_error_code(ClientErrc::daemon_not_running);
      co_return;
    }
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout timeouts;
    timeouts.handshake_timeout = limits_.request_timeout;
    timeouts.idle_timeout = limits_.event_idle_timeout;
    timeouts.keep_alive_pings = true;
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([key = api_key_](websocket::request_type& r) {
      r.set(http::field::user_agent, kUserAgent);
      if (!key.empty()) r.set(http::field::authorization, "Bearer " + key);
    }));
    ws.read_message_max(limits_.event_message_max);
    websocket::response_type res;
    co_await ws.async_handshake(res, host_, "/api/v1/events/ws?since=" + std::to_string(since),
                                asio::redirect_error(asio::use_awaitable, ec));
    if (ec == websocket::error::upgrade_declined) {
      // The daemon said no (401, 404, 503...): hand its answer over like any other.
      auto parsed = parse_body(res.body(), limits_.response_body_max);
      out = Reply{res.result_int(), parsed ? std::move(*parsed) : json::value(nullptr)};
      co_return;
    }
    if (ec) {
      out = exchange_error(ec);
      co_return;
    }
    out = Reply{101, nullptr};
  });
  if (!out->has_value() || (*out)->status != 101) events_.reset();
  return std::move(*out);
}

void DaemonClient::start_event_read() {
  read_pending_ = true;
  events_->async_read(event_buffer_, [this](error_code ec, std::size_t) {
    read_pending_ = false;
    if (ec) {
      read_result_ = exchange_error(ec);
    } else {
      read_result_ =
          parse_body(beast::buffers_to_string(event_buffer_.data()), limits_.event_message_max);
    }
    event_buffer_.clear();
  });
}

ClientResult<std::optional<json::value>> DaemonClient::next_event(std::chrono::milliseconds wait) {
  if (pending_interrupt_) {
    pending_interrupt_ = false;
    return make_error_code(ClientErrc::interrupted);
  }
  if (!events_) return make_error_code(ClientErrc::stream_closed);
  if (!read_result_ && !read_pending_) start_event_read();
  asio::steady_timer timer(io_, wait);
  bool timer_done = false;
  bool timer_fired = false;
  timer.async_wait([&](error_code ec) {
    timer_done = true;
    timer_fired = !ec;
  });
  while (!read_result_ && !timer_fired && !pending_interrupt_) {
    if (io_.stopped()) io_.restart();
    io_.run_one();
  }
  timer.cancel();
  while (!timer_done) io_.run_one();  // its handler refers to this frame
  if (pending_interrupt_) {
    pending_interrupt_ = false;
    return make_error_code(ClientErrc::interrupted);
  }
  if (!read_result_) return std::optional<json::value>{};
  ClientResult<json::value> r = std::move(*read_result_);
  read_result_.reset();
  if (!r) {
    error_code ec;
    beast::get_lowest_layer(*events_).socket().close(ec);
    events_.reset();
    return r.error();
  }
  if (!r->is_object()) return make_error_code(ClientErrc::bad_answer);
  return std::optional<json::value>(std::move(*r));
}

void DaemonClient::catch_interrupts(int second_signal_exit) {
  second_signal_exit_ = second_signal_exit;
  if (signals_) return;
  signals_ = std::make_unique<asio::signal_set>(io_, SIGINT, SIGTERM);
  arm_signals();
}

void DaemonClient::arm_signals() {
  signals_->async_wait([this](error_code ec, int) {
    if (ec) return;
    if (++signals_seen_ >= 2) {
      std::fputs("\n", stderr);
      std::fflush(stdout);
      std::_Exit(second_signal_exit_);
    }
    pending_interrupt_ = true;
    arm_signals();
  });
}

}  // namespace lanspread::app::cli
