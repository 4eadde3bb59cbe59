#include "app/event_log.hpp"

#include <fmt/format.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace lanspread::app {
namespace asio = boost::asio;

EventLog::EventLog(asio::any_io_executor ex, std::size_t capacity)
    : capacity_(capacity), signal_(ex, asio::steady_timer::time_point::max()) {}

std::uint64_t EventLog::append(const std::string& type, const std::string& data_json) {
  const std::uint64_t seq = next_++;
  events_.push_back(
      {seq, fmt::format(R"({{"seq":{},"type":"{}","data":{}}})", seq, type, data_json)});
  while (events_.size() > capacity_) events_.pop_front();
  signal_.cancel();  // wake every waiting reader
  return seq;
}

EventBatch EventLog::read(std::uint64_t since, std::size_t max) const {
  EventBatch b;
  // 0 means "from the start"; a number from the future (the daemon restarted) resyncs.
  since = std::clamp<std::uint64_t>(since, 1, next_);
  const std::uint64_t oldest = events_.empty() ? next_ : events_.front().seq;
  if (since < oldest) {
    b.missed = oldest - since;
    since = oldest;
  }
  for (const auto& e : events_) {
    if (e.seq < since) continue;
    if (b.events.size() == max) break;
    b.events.push_back(&e);
  }
  b.next = b.events.empty() ? since : b.events.back()->seq + 1;
  return b;
}

asio::awaitable<void> EventLog::wait(std::uint64_t since, std::chrono::milliseconds timeout) {
  using namespace asio::experimental::awaitable_operators;
  if (std::min(since, next_) < next_ || since == 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  boost::system::error_code a;
  boost::system::error_code b;
  co_await (signal_.async_wait(asio::redirect_error(asio::use_awaitable, a)) ||
            timer.async_wait(asio::redirect_error(asio::use_awaitable, b)));
}

}  // namespace lanspread::app
