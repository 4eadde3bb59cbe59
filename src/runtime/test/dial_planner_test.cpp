// The dial planner in virtual time: announced peers are probed as the runtime does (one
// request per due peer, attempts granted into a bounded number of handshake slots), and
// every attempt ends after a simulated delay: quickly with an answer for real peers, after
// the handshake timeout for addresses where nobody answers.
#include "runtime/dial_planner.hpp"

#include <arpa/inet.h>

#include <gtest/gtest.h>

#include <map>
#include <set>

namespace lanspread::runtime {
namespace {

using namespace std::chrono_literals;
using Clock = DialPlanner::Clock;

transport::Address v4(const std::string& ip, std::uint16_t port) {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &in.sin_addr);
  return transport::Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

transport::Address v6(const std::string& ip, std::uint16_t port) {
  sockaddr_in6 in6{};
  in6.sin6_family = AF_INET6;
  in6.sin6_port = htons(port);
  inet_pton(AF_INET6, ip.c_str(), &in6.sin6_addr);
  return transport::Address::from(reinterpret_cast<const sockaddr*>(&in6), sizeof in6);
}

const Clock::time_point t0 = Clock::time_point{} + 1000s;

// Drives a planner like the runtime's shell does and records every dial.
struct Sim {
  explicit Sim(PeerLimits l = {}) : limits(l), planner(l) {}

  PeerLimits limits;
  DialPlanner planner;
  Clock::time_point now = t0;
  std::set<std::string> live;  // addresses (to_string) where a peer answers
  std::map<DialPlanner::Ticket, Clock::time_point> ends;
  std::map<DialPlanner::Ticket, std::string> probes;  // ticket -> peer being probed
  std::vector<std::pair<Clock::time_point, transport::Address>> dials;
  std::map<std::string, Clock::time_point> verified;
  std::size_t max_in_flight = 0;

  void pump() {
    for (const auto& id : planner.due_probes(now, planner.free_slots())) {
      if (auto t = planner.request(id, now)) {
        probes[*t] = id;
      } else {
        planner.probe_done(id);
      }
    }
    for (const auto& a : planner.grant(now)) {
      dials.emplace_back(now, a.address);
      ends[a.ticket] =
          now + (live.contains(a.address.to_string()) ? 10ms : limits.handshake_timeout);
    }
    max_in_flight = std::max(max_in_flight, planner.in_flight());
  }

  void run_until(Clock::time_point until) {
    for (;;) {
      pump();
      std::optional<Clock::time_point> next;
      for (const auto& [t, end] : ends)
        if (!next || end < *next) next = end;
      if (auto p = planner.next_probe(); p && *p > now && (!next || *p < *next)) next = p;
      if (!next || *next > until) break;
      now = *next;
      for (auto it = ends.begin(); it != ends.end();) {
        if (it->second > now) {
          ++it;
          continue;
        }
        const DialPlanner::Ticket t = it->first;
        const bool ok = live.contains(planner.granted(t)->address.to_string());
        const std::string peer = planner.granted(t)->peer;
        planner.finished(t, ok, now);
        it = ends.erase(it);
        if (ok || planner.exhausted(t, now)) {
          planner.close(t);
          if (probes.contains(t)) planner.probe_done(peer);
          probes.erase(t);
          if (ok && !verified.contains(peer)) {
            verified[peer] = now;
            planner.set_verified(peer, true);
          }
        }
      }
    }
    now = until;
  }

  std::size_t dials_to(const transport::Address& a, Clock::time_point from = {}) const {
    std::size_t n = 0;
    for (const auto& [when, to] : dials) n += (to == a && when >= from) ? 1 : 0;
    return n;
  }
};

// Guards against an announcement making us send packets to services it names: port 0,
// privileged ports, broadcast, multicast, the unspecified address and (from the network)
// our own loopback are never dialled.
TEST(DialPlanner, NeverDialsAddressesAnAnnouncementMustNotName) {
  DialPlanner p{PeerLimits{}};
  using A = DialPlanner::Admission;
  for (const auto& bad :
       {v4("198.18.0.9", 0), v4("198.18.0.9", 53), v4("198.18.0.9", 1023),
        v4("255.255.255.255", 4000), v4("224.0.0.251", 5353), v4("0.0.0.0", 4000),
        v4("127.0.0.1", 4000), v6("::1", 4000), v6("ff02::fb", 4000), v6("::", 4000)}) {
    EXPECT_EQ(p.offer("x", {bad}, true, t0), A::no_usable_address) << bad.to_string();
  }
  EXPECT_FALSE(p.knows("x"));
  // A local caller (a tool, a test) may name loopback; the port rule still holds.
  EXPECT_EQ(p.offer("local", {v4("127.0.0.1", 4000)}, false, t0), A::added);
  EXPECT_EQ(p.offer("local2", {v4("127.0.0.1", 80)}, false, t0), A::no_usable_address);
  // Of a long list, only the first usable ones stay, IPv4 first.
  std::vector<transport::Address> many{v6("fe80::1", 7979)};
  for (int i = 1; i <= 20; ++i) many.push_back(v4("198.18.1." + std::to_string(i), 7979));
  many.push_back(v4("198.18.2.1", 22));
  EXPECT_EQ(p.offer("y", many, true, t0), A::added);
  const auto kept = p.addresses("y");
  ASSERT_EQ(kept.size(), PeerLimits{}.max_addresses_per_peer);
  EXPECT_EQ(kept.front(), v4("198.18.1.1", 7979));
}

// Guards against a forged announcement turning every peer into a reflector: an address that
// never answers is dialled again only after 10 s, 20 s, 40 s, then once a minute, so one
// announcement costs its target a few packets a minute, not 20 to 40.
TEST(DialPlanner, AnAddressThatNeverAnswersBacksOffToOnceAMinute) {
  Sim sim;
  const auto target = v4("198.18.0.50", 9999);
  sim.planner.offer("forged", {target}, true, t0);
  sim.run_until(t0 + 10min);
  std::vector<Clock::duration> gaps;
  for (std::size_t i = 1; i < sim.dials.size(); ++i)
    gaps.push_back(sim.dials[i].first - sim.dials[i - 1].first);
  ASSERT_GE(gaps.size(), 6u);
  const auto hs = PeerLimits{}.handshake_timeout;
  EXPECT_EQ(gaps[0], hs + 10s);
  EXPECT_EQ(gaps[1], hs + 20s);
  EXPECT_EQ(gaps[2], hs + 40s);
  for (std::size_t i = 3; i < gaps.size(); ++i) EXPECT_EQ(gaps[i], hs + 60s) << i;
  EXPECT_EQ(sim.dials_to(target, t0) - sim.dials_to(target, t0 + 70s), 3u);  // in 70 s
}

// Guards against many forged peers naming one victim multiplying its load: the address's
// backoff is shared, and it is dialled by one handshake at a time.
TEST(DialPlanner, ManyAnnouncementsOfOneAddressShareItsBackoff) {
  Sim sim;
  const auto target = v4("198.18.0.50", 9999);
  for (int i = 0; i < 500; ++i) sim.planner.offer("forged" + std::to_string(i), {target}, true, t0);
  sim.run_until(t0 + 70s);
  EXPECT_EQ(sim.dials_to(target), 3u);
}

// Guards against announcements spraying one victim's ports: its ports that never answered
// are dialled two at a time, and once two have failed the host backs off as a whole.
TEST(DialPlanner, PortsOfOneHostBackOffTogether) {
  Sim sim;
  for (int i = 0; i < 200; ++i)
    sim.planner.offer("spray" + std::to_string(i), {v4("198.18.0.60", 2000 + i)}, true, t0);
  sim.run_until(t0 + 70s);
  // Two at once, then one each time the host's own backoff (doubling) allows: 22.5 s, 65 s.
  EXPECT_EQ(sim.dials.size(), 4u);
  // A real peer that appears on another port of that host still gets through at the host's
  // next turn (it is the newest announcement).
  sim.live.insert(v4("198.18.0.60", 7979).to_string());
  sim.planner.offer("real", {v4("198.18.0.60", 7979)}, true, sim.now);
  sim.run_until(sim.now + 70s);
  EXPECT_TRUE(sim.verified.contains("real"));
}

// Guards against a flood of forged peers starving real ones: handshakes in flight stay
// bounded, a real peer announced after the flood is dialled as soon as a slot frees, and a
// peer that answered before goes ahead of every forged retry.
TEST(DialPlanner, RealPeersGetThroughAThousandForgedOnes) {
  Sim sim;
  for (int i = 0; i < 1000; ++i) {
    const std::string ip = "198.18." + std::to_string(10 + i / 250) + "." + std::to_string(i % 250);
    sim.planner.offer("forged" + std::to_string(i), {v4(ip, 7979)}, true, t0);
  }
  sim.run_until(t0 + 1s);
  const auto real = v4("198.18.99.1", 7979);
  sim.live.insert(real.to_string());
  sim.planner.offer("real", {real}, true, sim.now);
  const auto offered = sim.now;
  sim.run_until(t0 + 120s);
  EXPECT_LE(sim.max_in_flight, PeerLimits{}.max_handshakes);
  ASSERT_TRUE(sim.verified.contains("real"));
  EXPECT_LE(sim.verified["real"] - offered, PeerLimits{}.handshake_timeout + 10ms);

  // Its connection drops while forged retries fill the queue: it is dialled first again.
  const auto before = sim.now;
  ASSERT_TRUE(sim.planner.request("real", sim.now));
  sim.run_until(before + 10s);
  std::optional<Clock::time_point> redial;
  for (const auto& [when, to] : sim.dials)
    if (to == real && when >= before && !redial) redial = when;
  ASSERT_TRUE(redial);
  EXPECT_LE(*redial - before, PeerLimits{}.handshake_timeout);
}

// Guards against the peer table growing without bound, or a full table locking out real
// peers for good: beyond the cap a new peer replaces one that keeps failing.
TEST(DialPlanner, BoundsPeersAndEvictsTheWorstFailing) {
  PeerLimits l;
  l.max_peers = 10;
  Sim sim(l);
  using A = DialPlanner::Admission;
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(sim.planner.offer("f" + std::to_string(i),
                                {v4("198.18.3." + std::to_string(i + 1), 7979)}, true, t0),
              A::added);
  // Nobody has failed yet: nothing to replace.
  EXPECT_EQ(sim.planner.offer("new", {v4("198.18.4.1", 7979)}, true, t0), A::full);
  sim.run_until(t0 + 5s);  // every forged address has failed once
  EXPECT_EQ(sim.planner.offer("new", {v4("198.18.4.1", 7979)}, true, sim.now), A::added);
  EXPECT_EQ(sim.planner.peer_count(), 10u);
}

}  // namespace
}  // namespace lanspread::runtime

namespace lanspread::runtime {
namespace {

// Guards against a peer that stopped answering (paused, rebooting) staying away for a
// minute after it is back: where it proved its id before, retries come every 1.5 s at most,
// while an address that never answered still backs off to once a minute.
TEST(DialPlanner, AnAddressThatAnsweredBeforeIsRetriedWithinSeconds) {
  Sim sim;
  const auto peer = v4("198.18.0.5", 7979);
  sim.live.insert(peer.to_string());
  ASSERT_EQ(sim.planner.offer("p", {peer}, true, t0), DialPlanner::Admission::added);
  sim.run_until(t0 + 1s);
  ASSERT_TRUE(sim.verified.contains("p"));
  // It goes silent and is dialled again (as after it left the list).
  sim.live.clear();
  sim.verified.clear();
  sim.planner.set_verified("p", false);
  const auto silent = sim.now;
  sim.run_until(silent + 60s);
  std::vector<Clock::time_point> at;
  for (const auto& [when, to] : sim.dials)
    if (to == peer && when >= silent) at.push_back(when);
  ASSERT_GE(at.size(), 10u);
  for (std::size_t i = 1; i < at.size(); ++i)
    EXPECT_LE(at[i] - at[i - 1], sim.limits.handshake_timeout + 1500ms) << i;
  // Back: found at the next retry.
  sim.live.insert(peer.to_string());
  const auto back = sim.now;
  sim.run_until(back + 10s);
  ASSERT_TRUE(sim.verified.contains("p"));
  EXPECT_LE(sim.verified["p"] - back, sim.limits.handshake_timeout + 1500ms + 10ms);
}

}  // namespace
}  // namespace lanspread::runtime
