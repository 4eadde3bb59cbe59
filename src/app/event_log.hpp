// Numbered events for front ends: a bounded log that clients read "since N", by long-poll
// or WebSocket. A client that falls further behind than the log holds is told how many
// events it missed and continues from the oldest one kept; it never slows the runtime.
// Network thread only.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace lanspread::app {

struct LoggedEvent {
  std::uint64_t seq;
  std::string json;  // {"seq":N,"type":"...","data":{...}}
};

struct EventBatch {
  std::vector<const LoggedEvent*> events;
  std::uint64_t next = 0;    // ask for since=next to continue
  std::uint64_t missed = 0;  // events dropped before the client read them
};

class EventLog {
 public:
  EventLog(boost::asio::any_io_executor ex, std::size_t capacity);

  // Appends an event (`type` and a JSON object `data`); wakes waiting readers.
  std::uint64_t append(const std::string& type, const std::string& data_json);
  // Events with seq >= since, at most `max`.
  EventBatch read(std::uint64_t since, std::size_t max = 256) const;
  // Waits until an event with seq >= since exists or `timeout` passes.
  boost::asio::awaitable<void> wait(std::uint64_t since, std::chrono::milliseconds timeout);
  std::uint64_t next_seq() const { return next_; }

 private:
  std::size_t capacity_;
  std::deque<LoggedEvent> events_;
  std::uint64_t next_ = 1;
  boost::asio::steady_timer signal_;
};

}  // namespace lanspread::app
