// Numbered events for front ends: a bounded log that clients read "since N", by long-poll
// or WebSocket. A client that falls further behind than the log holds is told how many
// events it missed and continues from the oldest one kept; it never slows the runtime.
// Events are immutable and shared: a reader keeps the ones it is sending alive by itself,
// so the log may drop them at any time (a reader never holds a pointer the log can free).
// Bounded by count and by bytes (EventLogLimits). Network thread only.
#pragma once

#include "app/api_limits.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace lanspread::app {

struct LoggedEvent {
  std::uint64_t seq = 0;
  std::shared_ptr<const std::string> json;  // {"seq":N,"type":"...","data":{...}}
};

struct EventBatch {
  std::vector<LoggedEvent> events;
  std::uint64_t next = 0;    // ask for since=next to continue
  std::uint64_t missed = 0;  // events dropped before the client read them
};

class EventLog {
 public:
  EventLog(boost::asio::any_io_executor ex, EventLogLimits limits = {});

  // Appends an event (`type` and a JSON object `data`); drops the oldest events beyond the
  // limits; wakes waiting readers.
  std::uint64_t append(const std::string& type, const std::string& data_json);
  // Events with seq >= since: at most `max_events`, and no more than `max_bytes` of JSON
  // unless the first event alone is larger (a batch always makes progress).
  EventBatch read(std::uint64_t since, std::size_t max_events = 256,
                  std::size_t max_bytes = 1024 * 1024) const;
  // Waits until an event with seq >= since exists or `timeout` passes.
  boost::asio::awaitable<void> wait(std::uint64_t since, std::chrono::milliseconds timeout);
  std::uint64_t next_seq() const { return next_; }
  std::size_t size() const { return events_.size(); }
  std::size_t bytes() const { return bytes_; }

 private:
  EventLogLimits limits_;
  std::deque<LoggedEvent> events_;  // consecutive seqs
  std::size_t bytes_ = 0;
  std::uint64_t next_ = 1;
  boost::asio::steady_timer signal_;
};

}  // namespace lanspread::app
