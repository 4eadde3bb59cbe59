// The API's event endpoints: long-poll and WebSocket. Both read the shared, immutable
// events of the EventLog and hold them by shared_ptr while they write, so a client that
// stalls while the log drops old events still sends intact events (or a `missed` notice).
#include "app/api_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace lanspread::app {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;

namespace {

std::string batch_json(const EventBatch& b) {
  std::string out = R"({"events":[)";
  for (std::size_t i = 0; i < b.events.size(); ++i) {
    if (i) out += ',';
    out += *b.events[i].json;
  }
  out += "],\"next\":" + std::to_string(b.next) + ",\"missed\":" + std::to_string(b.missed) + "}";
  return out;
}

std::string missed_json(std::uint64_t count) {
  return R"({"type":"missed","data":{"count":)" + std::to_string(count) + "}}";
}

}  // namespace

awaitable<Response> ApiServer::long_poll(const Request& req, std::string_view target) {
  auto self = shared_from_this();
  const ApiLimits& limits = config_.limits;
  if (req.method() != http::verb::get)
    co_return error_json(req, http::status::method_not_allowed, "method", "use GET");
  std::uint64_t since = parse_u64(query_param(target, "since"), 0);
  since = std::min(since, state_->events.next_seq());
  const auto timeout = std::chrono::milliseconds(std::min<std::uint64_t>(
      parse_u64(query_param(target, "timeout_ms"), limits.long_poll_max.count()),
      limits.long_poll_max.count()));
  if (state_->events.read(since, 1).events.empty()) co_await state_->events.wait(since, timeout);
  co_return make_json(
      req, http::status::ok,
      batch_json(state_->events.read(since, limits.batch_events_max, limits.batch_bytes_max)));
}

awaitable<void> ApiServer::stream_events(beast::tcp_stream stream, Request req,
                                         std::string target) {
  using namespace asio::experimental::awaitable_operators;
  using WebSocket = beast::websocket::stream<beast::tcp_stream>;
  auto self = shared_from_this();
  CountedSlot slot(websockets_);
  const ApiLimits& limits = config_.limits;
  // Shared with the reader coroutine, which may outlive this one by a moment.
  auto ws = std::make_shared<WebSocket>(std::move(stream));
  auto closed = std::make_shared<bool>(false);
  auto gone = std::make_shared<asio::steady_timer>(ex_, asio::steady_timer::time_point::max());
  beast::get_lowest_layer(*ws).expires_never();
  beast::websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = limits.write_timeout;
  timeouts.idle_timeout = limits.websocket_idle;
  timeouts.keep_alive_pings = true;
  ws->set_option(timeouts);
  ws->read_message_max(limits.websocket_message_max);
  ws->auto_fragment(false);  // one event, one frame
  ws->text(true);
  boost::system::error_code ec;
  co_await ws->async_accept(req, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  std::uint64_t since = parse_u64(query_param(target, "since"), state_->events.next_seq());
  // The reader notices the client going away or breaking the limits (clients send nothing
  // else; a message over the limit makes Beast close with 1009) and wakes the writer.
  asio::co_spawn(
      ex_,
      [ws, closed, gone]() -> awaitable<void> {
        beast::flat_buffer b;
        boost::system::error_code rec;
        while (!rec) {
          co_await ws->async_read(b, asio::redirect_error(asio::use_awaitable, rec));
          b.clear();
        }
        *closed = true;
        gone->cancel();
      },
      asio::detached);
  while (!*closed && !stopped_) {
    since = std::min(since, state_->events.next_seq());
    // The batch owns its events: the log may drop them while we wait for the client.
    const EventBatch batch =
        state_->events.read(since, limits.batch_events_max, limits.batch_bytes_max);
    if (batch.missed) {
      // A slow client is told what it missed instead of slowing anyone down.
      const std::string note = missed_json(batch.missed);
      co_await ws->async_write(asio::buffer(note), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    for (const LoggedEvent& e : batch.events) {
      co_await ws->async_write(asio::buffer(*e.json),
                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (ec) break;
    since = batch.next;
    if (batch.events.empty()) {
      boost::system::error_code wec;
      co_await (state_->events.wait(since, std::chrono::seconds(5)) ||
                gone->async_wait(asio::redirect_error(asio::use_awaitable, wec)));
    }
  }
  if (!*closed) {
    co_await ws->async_close(beast::websocket::close_code::going_away,
                             asio::redirect_error(asio::use_awaitable, ec));
  }
}

}  // namespace lanspread::app
