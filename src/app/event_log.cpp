#include "app/event_log.hpp"

#include <fmt/format.h>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace lanspread::app {
namespace asio = boost::asio;

EventLog::EventLog(asio::any_io_executor ex, EventLogLimits limits)
    : limits_(limits), signal_(ex, asio::steady_timer::time_point::max()) {}

std::uint64_t EventLog::append(const std::string& type, const std::string& data_json) {
  const std::uint64_t seq = next_++;
  auto json = std::make_shared<const std::string>(
      fmt::format(R"({{"seq":{},"type":"{}","data":{}}})", seq, type, data_json));
  bytes_ += json->size();
  events_.push_back({seq, std::move(json)});
  while (events_.size() > 1 &&
         (events_.size() > limits_.max_events || bytes_ > limits_.max_bytes)) {
    bytes_ -= events_.front().json->size();
    events_.pop_front();
  }
  signal_.cancel();  // wake every waiting reader
  return seq;
}

EventBatch EventLog::read(std::uint64_t since, std::size_t max_events,
                          std::size_t max_bytes) const {
  EventBatch b;
  // 0 means "from the start"; a number from the future (the daemon restarted) resyncs.
  since = std::clamp<std::uint64_t>(since, 1, next_);
  const std::uint64_t oldest = events_.empty() ? next_ : events_.front().seq;
  if (since < oldest) {
    b.missed = oldest - since;
    since = oldest;
  }
  std::size_t bytes = 0;
  for (auto i = static_cast<std::size_t>(since - oldest); i < events_.size(); ++i) {
    const LoggedEvent& e = events_[i];
    if (b.events.size() == max_events) break;
    if (!b.events.empty() && bytes + e.json->size() > max_bytes) break;
    bytes += e.json->size();
    b.events.push_back(e);
  }
  b.next = b.events.empty() ? since : b.events.back().seq + 1;
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
