#include "discovery/browser.hpp"
#include "discovery/limits.hpp"
#include "discovery/responder.hpp"
#include "test_interfaces.hpp"

#include <gtest/gtest.h>

namespace lanspread::discovery {
namespace {

using namespace std::chrono_literals;

using testing::iface;

Settings short_ttl() {
  Settings s;
  s.record_ttl = 4s;
  return s;
}

// A remote peer, driven to the running state so it can be asked for announcements.
Responder remote(std::string id, std::uint16_t port, const Settings& s) {
  Responder r(Advertisement{std::move(id), "bob", port, 1, {}}, s, 42);
  r.start(Clock::time_point{});
  for (int i = 0; i < 50 && !r.running(); ++i) {
    auto p = r.poll(Clock::time_point{} + 100s);
    if (!p.next) break;
  }
  return r;
}

template <class T>
std::vector<T> only(const std::vector<Event>& events) {
  std::vector<T> out;
  for (const auto& e : events)
    if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
  return out;
}

const auto t0 = Clock::time_point{} + 1000s;

// Guards against a peer not being resolved from one announcement into id, port, TXT and
// addresses (the runtime would never connect to it).
TEST(Browser, ReportsPeerSeenFromAnAnnouncement) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 1);
  b.start(t0);
  auto r = remote("bobid123", 47001, s);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  auto ev = b.on_response(r.announcement(eth), eth, t0);
  auto seen = only<PeerSeen>(ev);
  ASSERT_EQ(seen.size(), 1u);
  const auto& p = seen[0].peer;
  EXPECT_EQ(p.id, "bobid123");
  EXPECT_EQ(p.port, 47001);
  EXPECT_EQ(p.instance, "bob-bobid123");
  EXPECT_EQ(p.txt.at("rev"), "1");
  ASSERT_EQ(p.addresses.size(), 2u);
  EXPECT_EQ(p.addresses[0].to_string(), "10.0.0.9");
  // A link-local address is useless without its interface.
  EXPECT_EQ(p.addresses[1].to_v6().scope_id(), 2u);
  EXPECT_EQ(p.interfaces, std::vector<std::string>{"eth2"});
  EXPECT_TRUE(b.on_response(r.announcement(eth), eth, t0 + 1s).empty());  // no duplicate
}

// Guards against a rev change (library changed) going unnoticed.
TEST(Browser, ReportsPeerChangedWhenRevChanges) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 2);
  auto r = remote("bobid123", 47001, s);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  b.on_response(r.announcement(eth), eth, t0);
  r.set_rev(2, t0);
  auto changed = only<PeerChanged>(b.on_response(r.announcement(eth), eth, t0 + 2s));
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].peer.txt.at("rev"), "2");
}

// Guards against a cleanly stopped peer lingering: a goodbye removes it after the grace.
TEST(Browser, ReportsPeerLostAfterGoodbye) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 3);
  auto r = remote("bobid123", 47001, s);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  b.on_response(r.announcement(eth), eth, t0);
  EXPECT_TRUE(b.on_response(r.announcement(eth, true), eth, t0 + 1s).empty());
  auto tick = b.tick(t0 + 1s + s.goodbye_grace, {eth});
  auto lost = only<PeerLost>(tick.events);
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].id, "bobid123");
  EXPECT_TRUE(b.peers().empty());
}

// Guards against a killed peer (no goodbye) staying forever, and against the browser not
// trying to refresh records before they expire (RFC 6762 §5.2).
TEST(Browser, RefreshesAt80PercentThenExpiresAtTtl) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 4);
  auto r = remote("bobid123", 47001, s);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  b.on_response(r.announcement(eth), eth, t0);
  auto early = b.tick(t0 + 3000ms, {eth});  // 75 %
  EXPECT_TRUE(early.queries.empty());
  auto refresh = b.tick(t0 + 3300ms, {eth});  // 82.5 %
  EXPECT_FALSE(refresh.queries.empty());
  EXPECT_TRUE(refresh.events.empty());
  ASSERT_TRUE(refresh.next);
  EXPECT_LE(*refresh.next, t0 + 4s);
  auto expired = b.tick(t0 + 4s, {eth});
  EXPECT_EQ(only<PeerLost>(expired.events).size(), 1u);
}

// Guards against refresh chatter for records nobody here needs: our own instance and other
// hosts' address records must expire quietly.
TEST(Browser, RefreshesOnlyRecordsOfOtherPeers) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 10);
  auto self = remote("self-id", 47001, s);
  b.set_self_instance(self.instance_name());
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  b.on_response(self.announcement(eth), eth, t0);
  dns::Message printer;
  printer.flags = dns::kFlagResponse;
  printer.answers.push_back({dns::name_from_dotted("printer.local"),
                             static_cast<std::uint16_t>(dns::RrType::a), dns::kClassIn, true, 4,
                             dns::AData{boost::asio::ip::make_address_v4("10.0.0.50")}});
  b.on_response(printer, eth, t0);
  EXPECT_GT(b.cached_records(), 0u);
  for (auto t = t0; t < t0 + 4s; t += 100ms) EXPECT_TRUE(b.tick(t, {eth}).queries.empty());
}

// Guards against a hostile TXT id (control characters, oversize) reaching the runtime.
TEST(Browser, IgnoresPeersWithUnusableIds) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 11);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  for (const std::string& id : {std::string("evil\x1b[2Jid"), std::string(200, 'a')}) {
    auto r = remote("x", 47001, s);
    auto m = r.announcement(eth);
    for (auto& rec : m.answers) {
      if (auto* txt = std::get_if<dns::TxtData>(&rec.rdata)) txt->strings[1] = "id=" + id;
    }
    EXPECT_TRUE(b.on_response(m, eth, t0).empty());
  }
}

// Guards against a renamed responder's browser still hiding the peer that now owns its old
// name.
TEST(Browser, ShowsThePeerHoldingOurFormerName) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 12);
  auto other = remote("bobid123", 47001, s);
  b.set_self_instance(other.instance_name());  // we had this name...
  b.set_self_instance(dns::prepend("bob-bobid123 (2)", dns::name_from_dotted(kServiceType)));
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  EXPECT_EQ(only<PeerSeen>(b.on_response(other.announcement(eth), eth, t0)).size(), 1u);
}

// Guards against reporting ourselves as a peer (our own announcements loop back).
TEST(Browser, IgnoresItsOwnAdvertisement) {
  const Settings s = short_ttl();
  Browser b(s, "bobid123", 5);
  auto r = remote("bobid123", 47001, s);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  EXPECT_TRUE(b.on_response(r.announcement(eth), eth, t0).empty());
}

// Guards against an instance seen only by PTR never being resolved.
TEST(Browser, AsksForMissingSrvTxtAndAddresses) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 6);
  auto r = remote("bobid123", 47001, s);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  auto full = r.announcement(eth);
  dns::Message ptr_only;
  ptr_only.flags = dns::kFlagResponse;
  ptr_only.answers.push_back(full.answers[0]);
  EXPECT_TRUE(b.on_response(ptr_only, eth, t0).empty());
  auto tick = b.tick(t0, {eth});
  bool asked_srv = false;
  for (const auto& q : tick.queries)
    for (const auto& question : q.message.questions)
      asked_srv = asked_srv || (question.type == static_cast<std::uint16_t>(dns::RrType::srv) &&
                                question.name == r.instance_name());
  EXPECT_TRUE(asked_srv);
}

// Guards against query storms: PTR queries must back off, doubling from the initial interval,
// and carry the answers already known.
TEST(Browser, BacksOffPtrQueriesAndListsKnownAnswers) {
  Settings s = short_ttl();
  s.record_ttl = 100s;
  Browser b(s, "self-id", 7);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  b.start(t0);
  std::vector<Clock::time_point> sent;
  auto t = t0;
  for (int i = 0; i < 200 && sent.size() < 5; ++i) {
    auto tick = b.tick(t, {eth});
    if (!tick.queries.empty()) sent.push_back(t);
    ASSERT_TRUE(tick.next);
    t = *tick.next;
  }
  ASSERT_EQ(sent.size(), 5u);
  EXPECT_LE(sent[0] - t0, 120ms);
  EXPECT_EQ(sent[2] - sent[1], 2 * (sent[1] - sent[0]));
  EXPECT_EQ(sent[3] - sent[2], 2 * (sent[2] - sent[1]));

  auto r = remote("bobid123", 47001, s);
  b.on_response(r.announcement(eth), eth, t);
  Clock::time_point next = t;
  for (int i = 0; i < 50; ++i) {
    auto tick = b.tick(next, {eth});
    if (!tick.queries.empty()) {
      ASSERT_FALSE(tick.queries[0].message.answers.empty());
      EXPECT_EQ(std::get<dns::PtrData>(tick.queries[0].message.answers[0].rdata).target,
                r.instance_name());
      return;
    }
    next = *tick.next;
  }
  FAIL() << "no PTR query after the peer was known";
}

// Guards against a peer on two interfaces appearing twice, or vanishing when only one of
// its interfaces goes away.
TEST(Browser, MergesAPeerSeenOnTwoInterfaces) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 8);
  auto r = remote("bobid123", 47001, s);
  const auto eth1 = iface(1, "10.0.1.9", "fe80::9");
  const auto eth2 = iface(2, "10.0.2.9", "fe80::9");
  b.on_response(r.announcement(eth1), eth1, t0);
  auto ev = b.on_response(r.announcement(eth2), eth2, t0);
  auto changed = only<PeerChanged>(ev);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].peer.interfaces, (std::vector<std::string>{"eth1", "eth2"}));
  EXPECT_EQ(changed[0].peer.addresses.size(), 4u);  // two IPv4, fe80::9%1 and fe80::9%2
  EXPECT_EQ(b.peers().size(), 1u);
  auto dropped = b.drop_interface(1);
  EXPECT_TRUE(only<PeerLost>(dropped).empty());
  ASSERT_EQ(b.peers().size(), 1u);
  EXPECT_EQ(b.peers()[0].interfaces, std::vector<std::string>{"eth2"});
}

// Guards against a flood of records growing the cache without bound.
TEST(Browser, BoundsTheCache) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 9);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  for (int i = 0; i < 6000; i += 100) {
    dns::Message m;
    m.flags = dns::kFlagResponse;
    for (int j = i; j < i + 100; ++j) {
      m.answers.push_back(
          {dns::name_from_dotted("_lanspread._udp.local"),
           static_cast<std::uint16_t>(dns::RrType::ptr), dns::kClassIn, false, 100,
           dns::PtrData{dns::prepend("x" + std::to_string(j),
                                     dns::name_from_dotted("_lanspread._udp.local"))}});
    }
    b.on_response(m, eth, t0);
  }
  EXPECT_LE(b.cached_records(), kMaxCachedRecords);
  EXPECT_GT(b.cached_records(), 1000u);
}

// A forged announcement as an attacker would send it: PTR, SRV (port, host), TXT (id), A,
// with the TTL it likes.
dns::Message forged(const std::string& label, const std::string& id, const std::string& ip,
                    std::uint16_t port, std::uint32_t ttl = 4500) {
  const auto service = dns::name_from_dotted(kServiceType);
  const auto instance = dns::prepend(label, service);
  const auto host = dns::name_from_dotted(label + ".local");
  dns::Message m;
  m.flags = dns::kFlagResponse;
  m.answers.push_back({service, static_cast<std::uint16_t>(dns::RrType::ptr), dns::kClassIn, false,
                       ttl, dns::PtrData{instance}});
  m.additionals.push_back({instance, static_cast<std::uint16_t>(dns::RrType::srv), dns::kClassIn,
                           true, ttl, dns::SrvData{0, 0, port, host}});
  m.additionals.push_back({instance, static_cast<std::uint16_t>(dns::RrType::txt), dns::kClassIn,
                           true, ttl, dns::TxtData{{"v=1", "id=" + id}}});
  m.additionals.push_back({host, static_cast<std::uint16_t>(dns::RrType::a), dns::kClassIn, true,
                           ttl, dns::AData{boost::asio::ip::make_address_v4(ip)}});
  return m;
}

// Guards against one peer's records filling the cache: an instance keeps one SRV and one TXT
// per interface (the newest), its host 16 addresses per interface; records of names no
// lanspread instance uses are not kept at all.
TEST(Browser, BoundsRecordsPerInstanceAndIgnoresStrangers) {
  const Settings s = short_ttl();
  Browser b(s, "self-id", 13);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  b.on_response(forged("bob", "bobid", "10.0.0.20", 47000), eth, t0);
  const std::size_t base = b.cached_records();
  auto m = forged("bob", "bobid", "10.0.0.20", 47000);
  for (int i = 0; i < 200; ++i) {
    m.additionals[1].rdata = dns::TxtData{{"v=1", "id=bobid", "n=" + std::to_string(i)}};
    m.additionals.push_back({dns::name_from_dotted("bob.local"),
                             static_cast<std::uint16_t>(dns::RrType::a), dns::kClassIn, false, 100,
                             dns::AData{boost::asio::ip::address_v4(0x0a000100u + i)}});
    b.on_response(m, eth, t0 + std::chrono::milliseconds(i));
    m.additionals.pop_back();
  }
  EXPECT_EQ(b.cached_records(), base + kMaxAddressesPerPeer - 1);  // one A was there already
  EXPECT_GT(b.stats().records_refused, 0u);
  ASSERT_EQ(b.peers().size(), 1u);
  EXPECT_EQ(b.peers()[0].txt.at("n"), "199");  // the newest TXT wins
  EXPECT_LE(b.peers()[0].addresses.size(), kMaxAddressesPerPeer);

  // SRV and TXT of an instance nobody pointed to, and another host's addresses: not kept.
  auto stray = forged("eve", "eveid", "10.0.0.30", 47000);
  stray.answers.clear();
  const std::size_t before = b.cached_records();
  b.on_response(stray, eth, t0 + 1s);
  EXPECT_EQ(b.cached_records(), before);
}

// Guards against a forged record that claims a TTL of days staying (and being dialled) for
// days: a received TTL is cut to ten minutes, and nobody answers the refresh queries.
TEST(Browser, CutsTheTtlOfReceivedRecords) {
  Settings s;
  Browser b(s, "self-id", 14);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  ASSERT_EQ(
      only<PeerSeen>(b.on_response(forged("bob", "bobid", "10.0.0.20", 47000, 86400 * 7), eth, t0))
          .size(),
      1u);
  EXPECT_TRUE(
      only<PeerLost>(b.tick(t0 + std::chrono::seconds(kMaxRecordTtl) - 1s, {eth}).events).empty());
  EXPECT_EQ(only<PeerLost>(b.tick(t0 + std::chrono::seconds(kMaxRecordTtl), {eth}).events).size(),
            1u);
}

// Guards against a flood of forged instances hiding real peers for good: the cache holds at
// most 1,024 instances, and when room frees the browser asks for PTRs again soon, so a peer
// refused during the flood is found once the flood has expired.
TEST(Browser, CapsInstancesAndAsksAgainWhenRoomFrees) {
  Settings s;
  s.query_max_interval = std::chrono::minutes(60);
  Browser b(s, "self-id", 15);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  b.start(t0);
  const auto ttl = std::chrono::seconds(kMaxRecordTtl);
  for (std::size_t i = 0; i < kMaxPeers + 10; ++i) {
    b.on_response(forged("f" + std::to_string(i), "fid" + std::to_string(i),
                         "10.0.1." + std::to_string(i % 250 + 1), 47000, kMaxRecordTtl),
                  eth, t0);
  }
  EXPECT_EQ(b.peers().size(), kMaxPeers);
  EXPECT_TRUE(
      only<PeerSeen>(b.on_response(forged("real", "realid", "10.0.0.2", 47000, 120), eth, t0 + 1s))
          .empty());
  // The PTR queries back off (to 512 s) while the flood lives; then it expires.
  for (auto t = t0; t < t0 + ttl - 1s;) t = std::min(*b.tick(t, {eth}).next, t0 + ttl - 1s);
  auto after = b.tick(t0 + ttl, {eth});
  EXPECT_EQ(only<PeerLost>(after.events).size(), kMaxPeers);
  ASSERT_TRUE(after.next);
  EXPECT_LE(*after.next, t0 + ttl + 2s);  // a PTR query soon, not in eight minutes
}

// Guards against per-packet work that grows with the cache (a flood makes every later packet
// expensive): a packet about one peer recomputes that peer only, and a tick with nothing due
// recomputes nothing.
TEST(Browser, WorkPerPacketIsProportionalToThePacket) {
  Settings s;
  Browser b(s, "self-id", 16);
  const auto eth = iface(2, "10.0.0.9", "fe80::9");
  for (int i = 0; i < 1000; ++i) {
    b.on_response(forged("f" + std::to_string(i), "fid" + std::to_string(i),
                         "10.0.1." + std::to_string(i % 250 + 1), 47000),
                  eth, t0);
  }
  ASSERT_EQ(b.peers().size(), 1000u);
  const auto before = b.stats().instances_assembled;
  auto seen = only<PeerSeen>(b.on_response(forged("real", "realid", "10.0.0.2", 47000), eth, t0));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].peer.id, "realid");
  EXPECT_EQ(b.stats().instances_assembled - before, 1u);
  const auto quiet = b.stats().instances_assembled;
  b.tick(t0 + 1s, {eth});
  EXPECT_EQ(b.stats().instances_assembled, quiet);
}

}  // namespace
}  // namespace lanspread::discovery
