#include "discovery/discovery_service.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <gtest/gtest.h>

#include <unistd.h>

namespace lanspread::discovery {
namespace {

using namespace std::chrono_literals;

// Loopback only, on a private port, with timings shortened so each scenario takes well
// under a second: nothing reaches a real network or the host's own mDNS responder.
Settings loopback_settings() {
  Settings s;
  s.port = static_cast<std::uint16_t>(20000 + (::getpid() % 20000));
  s.interfaces.only = {"lo"};
  s.interfaces.include_loopback = true;
  s.interfaces.ipv6 = false;
  s.probe_interval = 20ms;
  s.announce_interval = 50ms;
  s.query_initial_interval = 100ms;
  s.record_ttl = 5s;
  return s;
}

Advertisement ad(std::string id, std::uint16_t port) {
  return Advertisement{std::move(id), "test-host", port, 1, {}};
}

// Runs `io` until `done` holds or `limit` passes; returns whether `done` held.
template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (!done() && Clock::now() < end) {
    io.run_for(10ms);
    if (io.stopped()) io.restart();
  }
  return done();
}

// Guards against the Asio layer (sockets, timers, event delivery) losing what the sans-IO
// cores decide: a peer must be seen, its rev change noticed, and its goodbye honoured.
TEST(DiscoveryService, SeesChangesAndLosesAPeerOverRealSockets) {
  boost::asio::io_context io;
  const auto s = loopback_settings();
  auto a = DiscoveryService::create(io.get_executor(), s);
  auto b = DiscoveryService::create(io.get_executor(), s);
  ASSERT_TRUE(a->start()) << "loopback multicast unavailable";
  ASSERT_TRUE(b->start());
  ASSERT_TRUE(a->advertise(ad("aaaa1111", 41000)));
  std::vector<Event> events;
  b->browse([&](const Event& e) { events.push_back(e); });
  bool a_saw_itself = false;
  a->browse([&](const Event&) { a_saw_itself = true; });

  ASSERT_TRUE(run_until(
      io, [&] { return !events.empty(); }, 3000ms));
  const auto* seen = std::get_if<PeerSeen>(&events[0]);
  ASSERT_NE(seen, nullptr);
  EXPECT_EQ(seen->peer.id, "aaaa1111");
  EXPECT_EQ(seen->peer.port, 41000);
  EXPECT_EQ(seen->peer.addresses.at(0).to_string(), "127.0.0.1");

  a->update_rev(2);
  ASSERT_TRUE(run_until(
      io, [&] { return events.size() >= 2; }, 3000ms));
  const auto* changed = std::get_if<PeerChanged>(&events[1]);
  ASSERT_NE(changed, nullptr);
  EXPECT_EQ(changed->peer.txt.at("rev"), "2");

  bool stopped = false;
  const auto stop_at = Clock::now();
  a->stop([&] { stopped = true; });
  ASSERT_TRUE(run_until(
      io, [&] { return events.size() >= 3; }, 3000ms));
  EXPECT_TRUE(stopped);
  EXPECT_TRUE(std::holds_alternative<PeerLost>(events[2]));
  EXPECT_LT(Clock::now() - stop_at, 1s);
  EXPECT_FALSE(a_saw_itself);
  b->stop();
  io.run_for(100ms);
}

// Guards against a hostile datagram on the mDNS port crashing or stalling the service.
TEST(DiscoveryService, DropsMalformedPacketsAndKeepsWorking) {
  boost::asio::io_context io;
  const auto s = loopback_settings();
  auto a = DiscoveryService::create(io.get_executor(), s);
  auto b = DiscoveryService::create(io.get_executor(), s);
  ASSERT_TRUE(a->start());
  ASSERT_TRUE(b->start());
  boost::asio::ip::udp::socket evil(io, boost::asio::ip::udp::v4());
  const std::vector<std::uint8_t> loop = {0, 0, 0x84, 0,    0,  1, 0, 0, 0,
                                          0, 0, 0,    0xC0, 12, 0, 1, 0, 1};
  // To the group, like real mDNS traffic: unicast would be spread over the SO_REUSEPORT group.
  evil.set_option(boost::asio::ip::multicast::outbound_interface(
      boost::asio::ip::make_address_v4("127.0.0.1")));
  evil.set_option(boost::asio::ip::multicast::enable_loopback(true));
  const boost::asio::ip::udp::endpoint to(kMdnsGroupV4, s.port);
  for (int i = 0; i < 10; ++i) evil.send_to(boost::asio::buffer(loop), to);
  ASSERT_TRUE(run_until(
      io, [&] { return b->stats().packets_malformed >= 10; }, 2000ms));
  ASSERT_TRUE(a->advertise(ad("aaaa2222", 41001)));
  bool seen = false;
  b->browse([&](const Event& e) { seen = seen || std::holds_alternative<PeerSeen>(e); });
  EXPECT_TRUE(run_until(
      io, [&] { return seen; }, 3000ms));
  a->stop();
  b->stop();
  io.run_for(100ms);
}

// Guards against two hosts claiming one instance name: the later one must probe, find the
// conflict, and rename itself so both stay visible.
TEST(DiscoveryService, RenamesOnAConflictingInstance) {
  boost::asio::io_context io;
  const auto s = loopback_settings();
  auto first = DiscoveryService::create(io.get_executor(), s);
  auto second = DiscoveryService::create(io.get_executor(), s);
  auto watcher = DiscoveryService::create(io.get_executor(), s);
  ASSERT_TRUE(first->start());
  ASSERT_TRUE(second->start());
  ASSERT_TRUE(watcher->start());
  std::set<std::string> instances;
  watcher->browse([&](const Event& e) {
    if (auto* p = std::get_if<PeerSeen>(&e)) instances.insert(p->peer.instance);
  });
  // Same id prefix and label give the same instance name; the ids themselves differ.
  ASSERT_TRUE(first->advertise(ad("cccc0000-first", 42000)));
  ASSERT_TRUE(run_until(
      io, [&] { return instances.size() == 1; }, 3000ms));
  ASSERT_TRUE(second->advertise(ad("cccc0000-second", 42001)));
  ASSERT_TRUE(run_until(
      io, [&] { return instances.size() == 2; }, 3000ms));
  EXPECT_EQ(*first->instance(), "test-host-cccc0000");
  EXPECT_EQ(*second->instance(), "test-host-cccc0000 (2)");
  for (auto& svc : {first, second, watcher}) svc->stop();
  io.run_for(100ms);
}

}  // namespace
}  // namespace lanspread::discovery
