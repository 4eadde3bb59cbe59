#include "app/event_log.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

namespace lanspread::app {
namespace {

std::string data_of(std::size_t pad) {
  return R"({"pad":")" + std::string(pad, 'x') + R"("})";
}

TEST(EventLog, BoundedByCountAndTellsWhatWasMissed) {
  // Guards against an event log that grows without bound and a reader that silently skips
  // the events it lost.
  boost::asio::io_context io;
  EventLog log(io.get_executor(), EventLogLimits{.max_events = 10, .max_bytes = 1 << 20});
  for (int i = 0; i < 25; ++i) log.append("t", "{}");
  EXPECT_EQ(log.size(), 10u);
  const EventBatch b = log.read(1);
  EXPECT_EQ(b.missed, 15u);
  ASSERT_EQ(b.events.size(), 10u);
  EXPECT_EQ(b.events.front().seq, 16u);
  EXPECT_EQ(b.next, 26u);
  const EventBatch mid = log.read(20, 3);
  EXPECT_EQ(mid.missed, 0u);
  ASSERT_EQ(mid.events.size(), 3u);
  EXPECT_EQ(mid.events[0].seq, 20u);
  EXPECT_EQ(*mid.events[0].json, R"({"seq":20,"type":"t","data":{}})");
  EXPECT_EQ(mid.next, 23u);
}

TEST(EventLog, BoundedByBytesKeepingTheNewest) {
  // Guards against a few huge `library` events (peers x games) filling memory: the log
  // keeps under its byte budget, and still keeps the newest event even when it alone is
  // larger than the budget.
  boost::asio::io_context io;
  EventLog log(io.get_executor(), EventLogLimits{.max_events = 4096, .max_bytes = 10'000});
  for (int i = 0; i < 50; ++i) log.append("library", data_of(1000));
  EXPECT_LE(log.bytes(), 10'000u);
  EXPECT_GE(log.size(), 8u);
  log.append("library", data_of(50'000));
  EXPECT_EQ(log.size(), 1u);
  EXPECT_GT(log.bytes(), 50'000u);
  log.append("small", "{}");
  EXPECT_EQ(log.size(), 1u);  // the big one goes as soon as something newer exists
  EXPECT_LT(log.bytes(), 100u);
}

TEST(EventLog, BatchesAreBoundedByBytesButAlwaysProgress) {
  // Guards against a single long-poll answer as large as the whole log, and against a
  // reader stuck forever on an event larger than the batch budget.
  boost::asio::io_context io;
  EventLog log(io.get_executor());
  for (int i = 0; i < 10; ++i) log.append("t", data_of(1000));
  EXPECT_EQ(log.read(1, 256, 3500).events.size(), 3u);
  EXPECT_EQ(log.read(1, 256, 10).events.size(), 1u);
}

TEST(EventLog, EventsHeldByAReaderOutliveTheLog) {
  // Guards against readers holding memory the log frees: a batch taken before the log
  // wraps must still hold its events intact afterwards (checked under ASan).
  boost::asio::io_context io;
  EventLog log(io.get_executor(), EventLogLimits{.max_events = 16, .max_bytes = 1 << 20});
  for (int i = 0; i < 16; ++i) log.append("t", data_of(100));
  const EventBatch held = log.read(1);
  for (int i = 0; i < 1000; ++i) log.append("u", "{}");
  ASSERT_EQ(held.events.size(), 16u);
  for (const auto& e : held.events) {
    EXPECT_EQ(e.json->find(R"({"seq":)" + std::to_string(e.seq) + ","), 0u);
    EXPECT_NE(e.json->find(std::string(100, 'x')), std::string::npos);
  }
}

}  // namespace
}  // namespace lanspread::app
