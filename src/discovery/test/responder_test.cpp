#include "discovery/responder.hpp"
#include "test_interfaces.hpp"

#include <gtest/gtest.h>

namespace lanspread::discovery {
namespace {

using namespace std::chrono_literals;

using testing::iface;

Advertisement ad() {
  return Advertisement{"3f9a2c1b7d", "Alice's PC", 47000, 7, {{"os", "linux"}}};
}

// Drives the responder through probing and announcing; returns the time it became running.
Clock::time_point run_to_running(Responder& r, Clock::time_point t) {
  r.start(t);
  for (int i = 0; i < 100 && !r.running(); ++i) {
    auto p = r.poll(t);
    if (!p.next) break;
    t = std::max(t, *p.next);
  }
  return t;
}

dns::Message query(std::string_view name, dns::RrType type) {
  dns::Message q;
  q.questions.push_back(
      {dns::name_from_dotted(name), static_cast<std::uint16_t>(type), dns::kClassIn, false});
  return q;
}

template <class T>
const T* find_rdata(const std::vector<dns::Record>& rs) {
  for (const auto& r : rs)
    if (auto* p = std::get_if<T>(&r.rdata)) return p;
  return nullptr;
}

// Guards against names that are unreadable, collide across peers, or break DNS host rules.
TEST(Responder, NamesInstanceFromHostLabelAndShortId) {
  Responder r(ad(), Settings{});
  EXPECT_EQ(r.instance_label(), "alice-s-pc-3f9a2c1b");
  EXPECT_EQ(dns::to_string(r.instance_name()), "alice-s-pc-3f9a2c1b._lanspread._udp.local");
  EXPECT_EQ(dns::to_string(r.host_name()), "alice-s-pc-3f9a2c1b.local");
}

// Guards against announcing before probing is done, or skipping probes / announcements
// (RFC 6762 §8: three probes 250 ms apart, then at least two announcements).
TEST(Responder, ProbesThreeTimesThenAnnouncesTwice) {
  Settings s;
  Responder r(ad(), s, 1);
  const auto t0 = Clock::time_point{} + 10s;
  r.start(t0);
  std::vector<std::pair<Responder::Step, Clock::time_point>> steps;
  auto t = t0;
  for (int i = 0; i < 50; ++i) {
    auto p = r.poll(t);
    if (p.step != Responder::Step::none) steps.emplace_back(p.step, t);
    if (!p.next) break;
    t = std::max(t, *p.next);
  }
  ASSERT_EQ(steps.size(), 5u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(steps[i].first, Responder::Step::probe);
  EXPECT_LE(steps[0].second - t0, 250ms);
  EXPECT_EQ(steps[1].second - steps[0].second, s.probe_interval);
  EXPECT_EQ(steps[3].first, Responder::Step::announce);
  EXPECT_EQ(steps[4].first, Responder::Step::announce);
  EXPECT_GE(steps[4].second - steps[3].second, s.announce_interval);
  EXPECT_TRUE(r.running());
}

// Guards against a responder answering with records it has not yet claimed.
TEST(Responder, StaysSilentWhileProbing) {
  Responder r(ad(), Settings{});
  r.start(Clock::time_point{});
  EXPECT_FALSE(r.answer(query("_lanspread._udp.local", dns::RrType::ptr),
                        iface(2, "10.0.0.2", "fe80::2"), false));
}

// Guards against a browser needing a second round trip: the PTR answer must carry SRV, TXT
// and the addresses of the interface the query came in on (and only those).
TEST(Responder, AnswersPtrWithAdditionalsOfTheAskingInterface) {
  Responder r(ad(), Settings{}, 3);
  run_to_running(r, Clock::time_point{});
  auto a = r.answer(query("_lanspread._udp.local", dns::RrType::ptr),
                    iface(3, "192.168.7.5", "fe80::5"), false);
  ASSERT_TRUE(a);
  ASSERT_EQ(a->answers.size(), 1u);
  EXPECT_EQ(std::get<dns::PtrData>(a->answers[0].rdata).target, r.instance_name());
  EXPECT_FALSE(a->answers[0].cache_flush);  // PTR is a shared record
  auto* srv = find_rdata<dns::SrvData>(a->additionals);
  ASSERT_NE(srv, nullptr);
  EXPECT_EQ(srv->port, 47000);
  auto* txt = find_rdata<dns::TxtData>(a->additionals);
  ASSERT_NE(txt, nullptr);
  auto keys = parse_txt(*txt);
  EXPECT_EQ(keys["v"], "3");
  EXPECT_EQ(keys["id"], "3f9a2c1b7d");
  EXPECT_EQ(keys["rev"], "7");
  EXPECT_EQ(keys["os"], "linux");
  auto* a4 = find_rdata<dns::AData>(a->additionals);
  ASSERT_NE(a4, nullptr);
  EXPECT_EQ(a4->address.to_string(), "192.168.7.5");
  auto* a6 = find_rdata<dns::AaaaData>(a->additionals);
  ASSERT_NE(a6, nullptr);
  EXPECT_EQ(a6->address.to_string(), "fe80::5");
  EXPECT_TRUE(a->is_response());
}

// Guards against DNS-SD service enumeration (used by generic browsers) not listing us, and
// against answering names that are not ours.
TEST(Responder, AnswersServiceEnumerationAndIgnoresOtherNames) {
  Responder r(ad(), Settings{}, 4);
  run_to_running(r, Clock::time_point{});
  const auto i = iface(2, "10.0.0.2", "fe80::2");
  auto e = r.answer(query("_services._dns-sd._udp.local", dns::RrType::ptr), i, false);
  ASSERT_TRUE(e);
  EXPECT_EQ(std::get<dns::PtrData>(e->answers[0].rdata).target,
            dns::name_from_dotted("_lanspread._udp.local"));
  EXPECT_FALSE(r.answer(query("_http._tcp.local", dns::RrType::ptr), i, false));
  auto h = r.answer(query("alice-s-pc-3f9a2c1b.local", dns::RrType::any), i, false);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->answers.size(), 2u);  // A and AAAA
}

// Guards against answering records the asker already holds (RFC 6762 §7.1), which floods
// the network with every periodic query.
TEST(Responder, SuppressesKnownAnswers) {
  Responder r(ad(), Settings{}, 5);
  run_to_running(r, Clock::time_point{});
  auto q = query("_lanspread._udp.local", dns::RrType::ptr);
  q.answers.push_back({dns::name_from_dotted("_lanspread._udp.local"),
                       static_cast<std::uint16_t>(dns::RrType::ptr), dns::kClassIn, false, 100,
                       dns::PtrData{r.instance_name()}});
  EXPECT_FALSE(r.answer(q, iface(2, "10.0.0.2", "fe80::2"), false));
  q.answers[0].ttl = 10;  // less than half our TTL left: must refresh it
  EXPECT_TRUE(r.answer(q, iface(2, "10.0.0.2", "fe80::2"), false));
}

// Guards against breaking simple resolvers that query from an ephemeral port (RFC 6762 §6.7).
TEST(Responder, AnswersLegacyUnicastQueriesWithEchoAndShortTtl) {
  Responder r(ad(), Settings{}, 6);
  run_to_running(r, Clock::time_point{});
  auto q = query("alice-s-pc-3f9a2c1b._lanspread._udp.local", dns::RrType::srv);
  q.id = 0x4242;
  auto a = r.answer(q, iface(2, "10.0.0.2", "fe80::2"), true);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->id, 0x4242);
  ASSERT_EQ(a->questions.size(), 1u);
  for (const auto& rec : a->answers) {
    EXPECT_LE(rec.ttl, 10u);
    EXPECT_FALSE(rec.cache_flush);
  }
}

// Guards against two peers silently sharing a name: another host's differing SRV/TXT for our
// instance must make us rename and probe again, while our own looped-back packets must not.
TEST(Responder, RenamesOnConflictButNotOnItsOwnEcho) {
  Settings s;
  Responder r(ad(), s, 7);
  auto t = run_to_running(r, Clock::time_point{});
  const auto i = iface(2, "10.0.0.2", "fe80::2");
  auto own = r.announcement(i);
  EXPECT_FALSE(r.check_conflict(own, t));
  r.set_rev(8, t);  // an echo of the previous revision is still ours
  EXPECT_FALSE(r.check_conflict(own, t));

  Advertisement other = ad();
  other.port = 48000;
  Responder impostor(other, s, 8);
  run_to_running(impostor, Clock::time_point{});
  ASSERT_EQ(impostor.instance_name(), r.instance_name());
  EXPECT_TRUE(r.check_conflict(impostor.announcement(i), t));
  EXPECT_EQ(r.instance_label(), "alice-s-pc-3f9a2c1b (2)");
  EXPECT_EQ(dns::to_string(r.host_name()), "alice-s-pc-3f9a2c1b-2.local");
  EXPECT_FALSE(r.running());
  EXPECT_EQ(r.renames(), 1u);
}

// Guards against two simultaneous probers both taking the name or both backing off
// (RFC 6762 §8.2: the lexicographically later proposal wins).
TEST(Responder, BreaksSimultaneousProbeTies) {
  Settings s;
  Advertisement low = ad();
  low.port = 1000;
  Advertisement high = ad();
  high.port = 60000;
  Responder a(low, s, 9);
  Responder b(high, s, 10);
  const auto t = Clock::time_point{} + 1s;
  a.start(t);
  b.start(t);
  const auto i = iface(2, "10.0.0.2", "fe80::2");
  EXPECT_FALSE(b.check_conflict(a.probe(i), t));  // b wins and carries on
  EXPECT_TRUE(a.check_conflict(b.probe(i), t));   // a defers one second
  auto p = a.poll(t);
  ASSERT_TRUE(p.next);
  EXPECT_EQ(*p.next, t + 1s);
  EXPECT_FALSE(a.check_conflict(a.probe(i), t));  // its own probe looped back
}

// Guards against a library change not reaching browsers: a new rev must be re-announced.
TEST(Responder, ReannouncesOnRevChangeAndSaysGoodbyeWithTtlZero) {
  Responder r(ad(), Settings{}, 11);
  auto t = run_to_running(r, Clock::time_point{});
  r.set_rev(9, t);
  auto p = r.poll(t);
  EXPECT_EQ(p.step, Responder::Step::announce);
  const auto i = iface(2, "10.0.0.2", "fe80::2");
  auto m = r.announcement(i);
  EXPECT_EQ(parse_txt(*find_rdata<dns::TxtData>(m.answers))["rev"], "9");
  auto bye = r.announcement(i, true);
  ASSERT_FALSE(bye.answers.empty());
  for (const auto& rec : bye.answers) EXPECT_EQ(rec.ttl, 0u);
  EXPECT_TRUE(dns::build(m));
}

// Guards against publishing what the wire cannot carry or peers would misread.
TEST(Responder, ValidatesAdvertisements) {
  EXPECT_TRUE(validate(ad()));
  auto a = ad();
  a.id.clear();
  EXPECT_FALSE(validate(a));
  a = ad();
  a.port = 0;
  EXPECT_FALSE(validate(a));
  a = ad();
  a.extra_txt.push_back({"rev", "1"});
  EXPECT_FALSE(validate(a));
  a = ad();
  a.extra_txt.push_back({"k=x", "1"});
  EXPECT_FALSE(validate(a));
  a = ad();
  a.extra_txt.push_back({"big", std::string(300, 'x')});
  EXPECT_FALSE(validate(a));
  a = ad();
  a.id = std::string(200, 'a');
  EXPECT_FALSE(validate(a));
}

// Guards against misreading TXT keys written by other stacks (case, duplicates, bare keys).
TEST(Responder, ParsesTxtLikeRfc6763) {
  auto keys = parse_txt(dns::TxtData{{"ID=abc", "id=second", "flag", "=novalue", "rev=3=4"}});
  EXPECT_EQ(keys["id"], "abc");
  EXPECT_EQ(keys.count("flag"), 1u);
  EXPECT_EQ(keys["flag"], "");
  EXPECT_EQ(keys["rev"], "3=4");
  EXPECT_EQ(keys.size(), 3u);
}

}  // namespace
}  // namespace lanspread::discovery
