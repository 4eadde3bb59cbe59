#include "discovery/dns_message.hpp"
#include "discovery/limits.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace lanspread::discovery::dns {
namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes header(std::uint16_t qd, std::uint16_t an, std::uint16_t ns = 0, std::uint16_t ar = 0,
             std::uint16_t flags = 0x8400) {
  return {0,
          0,
          static_cast<std::uint8_t>(flags >> 8),
          static_cast<std::uint8_t>(flags),
          static_cast<std::uint8_t>(qd >> 8),
          static_cast<std::uint8_t>(qd),
          static_cast<std::uint8_t>(an >> 8),
          static_cast<std::uint8_t>(an),
          static_cast<std::uint8_t>(ns >> 8),
          static_cast<std::uint8_t>(ns),
          static_cast<std::uint8_t>(ar >> 8),
          static_cast<std::uint8_t>(ar)};
}

void append(Bytes& b, std::initializer_list<int> v) {
  for (int x : v) b.push_back(static_cast<std::uint8_t>(x));
}

Message sample() {
  const Name service = name_from_dotted("_lanspread._udp.local");
  const Name instance = prepend("Alice's PC.v2 (3f9a2c1b)", service);
  const Name host = name_from_dotted("alice-pc-3f9a2c1b.local");
  Message m;
  m.id = 0;
  m.flags = kFlagResponse | kFlagAuthoritative;
  m.questions.push_back({service, static_cast<std::uint16_t>(RrType::ptr), kClassIn, true});
  m.answers.push_back(
      {service, static_cast<std::uint16_t>(RrType::ptr), kClassIn, false, 120, PtrData{instance}});
  m.answers.push_back({instance, static_cast<std::uint16_t>(RrType::srv), kClassIn, true, 120,
                       SrvData{0, 0, 47000, host}});
  m.answers.push_back({instance, static_cast<std::uint16_t>(RrType::txt), kClassIn, true, 4500,
                       TxtData{{"v=1", "id=3f9a2c1b", "rev=7"}}});
  m.additionals.push_back({host, static_cast<std::uint16_t>(RrType::a), kClassIn, true, 120,
                           AData{boost::asio::ip::make_address_v4("10.0.0.7")}});
  m.additionals.push_back({host, static_cast<std::uint16_t>(RrType::aaaa), kClassIn, true, 120,
                           AaaaData{boost::asio::ip::make_address_v6("fe80::1")}});
  m.additionals.push_back({host, static_cast<std::uint16_t>(RrType::nsec), kClassIn, true, 120,
                           RawData{{0xC0, 0x0C, 0x00, 0x04, 0x40, 0x00, 0x00, 0x08}}});
  return m;
}

// Guards against the codec losing or altering any field of the records lanspread publishes
// (labels with dots and spaces, cache-flush and QU bits, TTLs, unknown types).
TEST(DnsMessage, RoundTripsEveryRecordType) {
  const Message m = sample();
  auto bytes = build(m);
  ASSERT_TRUE(bytes) << bytes.error().message();
  auto back = parse(*bytes);
  ASSERT_TRUE(back) << back.error().message();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(back->answers[0].name.labels.size(), 3u);
  EXPECT_EQ(std::get<PtrData>(back->answers[0].rdata).target.labels[0], "Alice's PC.v2 (3f9a2c1b)");
}

// Guards against compression being skipped (packets grow past the MTU) or pointing at the
// wrong place (names decode to a different suffix).
TEST(DnsMessage, CompressesRepeatedSuffixes) {
  const Message m = sample();
  auto bytes = build(m);
  ASSERT_TRUE(bytes);
  std::size_t uncompressed = 12;
  for (const auto& q : m.questions) uncompressed += to_string(q.name).size() + 2 + 4;
  for (const auto* s : {&m.answers, &m.additionals})
    for (const auto& r : *s) uncompressed += to_string(r.name).size() + 2 + 10 + 40;
  EXPECT_LT(bytes->size(), uncompressed);
  // The second occurrence of "_lanspread._udp.local" is a pointer to offset 12.
  const Bytes pointer{0xC0, 0x0C};
  EXPECT_NE(std::search(bytes->begin() + 12 + 24, bytes->end(), pointer.begin(), pointer.end()),
            bytes->end());
}

// Guards against names being compared case-sensitively (RFC 1035 §2.3.3), which would make
// a peer that answers in different case invisible.
TEST(DnsMessage, ComparesNamesCaseInsensitively) {
  EXPECT_EQ(name_from_dotted("_LANSPREAD._udp.Local"), name_from_dotted("_lanspread._udp.local"));
  EXPECT_FALSE(name_from_dotted("a.local") == name_from_dotted("b.local"));
  EXPECT_EQ(to_string(prepend("a.b\\c", name_from_dotted("local"))), "a\\.b\\\\c.local");
}

// Guards against a pointer to itself looping the parser forever.
TEST(DnsMessage, RejectsSelfPointer) {
  Bytes b = header(1, 0, 0, 0, 0);
  append(b, {0xC0, 12, 0, 1, 0, 1});
  auto r = parse(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_pointer);
}

// Guards against two names pointing at each other (a loop spanning several jumps).
TEST(DnsMessage, RejectsPointerLoopThroughTwoNames) {
  Bytes b = header(2, 0, 0, 0, 0);
  // name at 12: label "a" then pointer to 20 (forward); name at 20: pointer back to 12.
  append(b, {1, 'a', 0xC0, 20, 0, 1, 0, 1});
  append(b, {0xC0, 12, 0, 1, 0, 1});
  auto r = parse(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_pointer);
}

// Guards against a pointer into the middle of its own name (a loop without a forward jump).
TEST(DnsMessage, RejectsPointerBackIntoItsOwnName) {
  Bytes b = header(1, 0, 0, 0, 0);
  append(b, {1, 'a', 1, 'b', 0xC0, 14, 0, 1, 0, 1});
  auto r = parse(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_pointer);
}

// Guards against reading outside the packet through a pointer past its end.
TEST(DnsMessage, RejectsPointerOutOfRange) {
  Bytes b = header(1, 0, 0, 0, 0);
  append(b, {0xFF, 0xFF, 0, 1, 0, 1});
  auto r = parse(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_pointer);
}

// Guards against reserved label types (0x40, 0x80) being read as lengths.
TEST(DnsMessage, RejectsReservedLabelTypes) {
  Bytes b = header(1, 0, 0, 0, 0);
  append(b, {0x41, 'a', 0, 0, 1, 0, 1});
  auto r = parse(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_label);
}

// Guards against a chain of backward pointers assembling a name longer than 255 bytes.
TEST(DnsMessage, RejectsNamesLongerThan255Bytes) {
  Bytes b = header(5, 0, 0, 0, 0);
  std::size_t prev = 0;
  for (int i = 0; i < 5; ++i) {
    const std::size_t at = b.size();
    b.push_back(60);
    for (int j = 0; j < 60; ++j) b.push_back('x');
    if (i == 0) {
      b.push_back(0);
    } else {
      append(b, {0xC0 | static_cast<int>(prev >> 8), static_cast<int>(prev & 0xFF)});
    }
    append(b, {0, 1, 0, 1});
    prev = at;
  }
  auto r = parse(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::name_too_long);
}

// Guards against a record cut short (in its header or its data) being accepted or read past.
TEST(DnsMessage, RejectsTruncatedRecords) {
  auto full = build(sample());
  ASSERT_TRUE(full);
  for (std::size_t len = 0; len < full->size(); ++len) {
    Bytes cut(full->begin(), full->begin() + static_cast<std::ptrdiff_t>(len));
    auto r = parse(cut);
    EXPECT_FALSE(r) << "accepted a packet cut at " << len;
  }
}

// Guards against huge section counts making the parser reserve memory or loop on nothing.
TEST(DnsMessage, RejectsCountsThePacketCannotHold) {
  Bytes b = header(0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF);
  auto r = parse(b);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::too_many_records);
  Bytes c = header(0, 3);
  append(c, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4});  // one record, three announced
  auto rc = parse(c);
  ASSERT_FALSE(rc);
  EXPECT_EQ(rc.error(), errc::too_many_records);
}

// Guards against record data whose length disagrees with its type or its embedded name.
TEST(DnsMessage, RejectsRdataThatContradictsItsType) {
  Bytes a5 = header(0, 1);
  append(a5, {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 5, 1, 2, 3, 4, 5});
  EXPECT_EQ(parse(a5).error(), errc::bad_rdata);
  Bytes ptr = header(0, 1);  // PTR whose name is 3 bytes but rdlength says 4
  append(ptr, {0, 0, 12, 0, 1, 0, 0, 0, 1, 0, 4, 1, 'a', 0, 0});
  EXPECT_EQ(parse(ptr).error(), errc::bad_rdata);
  Bytes txt = header(0, 1);  // TXT string length runs past the record's data
  append(txt, {0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 'a', 0, 0});
  EXPECT_FALSE(parse(txt));
}

// Guards against garbage after the last record being silently ignored (hides framing bugs).
TEST(DnsMessage, RejectsTrailingBytes) {
  auto full = build(sample());
  ASSERT_TRUE(full);
  full->push_back(0);
  EXPECT_EQ(parse(*full).error(), errc::trailing_bytes);
}

// Guards against accepting or building packets over the mDNS size limit.
TEST(DnsMessage, EnforcesSizeLimits) {
  Bytes big(kMaxPacketSize + 1, 0);
  EXPECT_EQ(parse(big).error(), errc::message_too_large);
  Message m;
  m.flags = kFlagResponse;
  for (int i = 0; i < 60; ++i) {
    m.answers.push_back({prepend("instance-" + std::to_string(i), name_from_dotted("x.local")),
                         static_cast<std::uint16_t>(RrType::txt), kClassIn, false, 1,
                         TxtData{{std::string(40, 'z')}}});
  }
  EXPECT_EQ(build(m).error(), errc::message_too_large);
  EXPECT_TRUE(build(m, kMaxPacketSize));
}

// Guards against building names the wire cannot carry (labels over 63 bytes, empty labels).
TEST(DnsMessage, RefusesToBuildInvalidNames) {
  Message m;
  m.questions.push_back({Name{{std::string(64, 'a'), "local"}}, 1, kClassIn, false});
  EXPECT_EQ(build(m).error(), errc::bad_label);
  m.questions[0].name = Name{{"", "local"}};
  EXPECT_EQ(build(m).error(), errc::bad_label);
}

// Guards against a TXT record flood making the parser hold unbounded entries.
TEST(DnsMessage, BoundsTxtEntries) {
  Message m;
  m.flags = kFlagResponse;
  TxtData txt;
  for (std::size_t i = 0; i <= kMaxTxtEntries; ++i) txt.strings.push_back("k" + std::to_string(i));
  m.answers.push_back({name_from_dotted("a.local"), static_cast<std::uint16_t>(RrType::txt),
                       kClassIn, false, 1, txt});
  auto bytes = build(m);
  ASSERT_TRUE(bytes);
  EXPECT_EQ(parse(*bytes).error(), errc::bad_rdata);
}

}  // namespace
}  // namespace lanspread::discovery::dns
