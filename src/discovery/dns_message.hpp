// Sans-IO DNS message codec for multicast DNS (RFC 1035 wire format, RFC 6762 bits).
// Parsing takes untrusted bytes and returns a value or an error; it never throws, never
// recurses, and follows only compression pointers that point strictly backwards, so a hostile
// packet cannot loop it. Building compresses names and refuses messages over the size limit.
#pragma once

#include "discovery/error.hpp"
#include "discovery/limits.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lanspread::discovery::dns {

// A domain name as its labels (without the root). Labels may contain any byte, including dots
// (DNS-SD instance names do), so names are not kept as dotted strings.
struct Name {
  std::vector<std::string> labels;

  // ASCII case-insensitive, as DNS compares names.
  friend bool operator==(const Name& a, const Name& b) noexcept;
};

// Splits a dotted name whose labels contain no dots ("_lanspread._udp.local").
Name name_from_dotted(std::string_view dotted);
// Name with `first` prepended as a single label (which may contain dots).
Name prepend(std::string_view first, const Name& rest);
// Dotted presentation form; dots and backslashes inside labels are escaped with '\'.
std::string to_string(const Name& name);
// Lower-cased copy used as a map key.
std::string canonical_key(const Name& name);

enum class RrType : std::uint16_t {
  a = 1,
  ptr = 12,
  txt = 16,
  aaaa = 28,
  srv = 33,
  nsec = 47,
  any = 255,
};
inline constexpr std::uint16_t kClassIn = 1;

struct AData {
  boost::asio::ip::address_v4 address;
  friend bool operator==(const AData&, const AData&) = default;
};
struct AaaaData {
  boost::asio::ip::address_v6 address;
  friend bool operator==(const AaaaData&, const AaaaData&) = default;
};
struct PtrData {
  Name target;
  friend bool operator==(const PtrData&, const PtrData&) = default;
};
struct SrvData {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  Name target;
  friend bool operator==(const SrvData&, const SrvData&) = default;
};
struct TxtData {
  std::vector<std::string> strings;  // each at most 255 bytes
  friend bool operator==(const TxtData&, const TxtData&) = default;
};
// Any other type, kept as opaque bytes (names inside are not decompressed).
struct RawData {
  std::vector<std::uint8_t> bytes;
  friend bool operator==(const RawData&, const RawData&) = default;
};
using Rdata = std::variant<AData, AaaaData, PtrData, SrvData, TxtData, RawData>;

struct Question {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t qclass = kClassIn;
  bool unicast_response = false;  // the QU bit (top bit of the class)
  friend bool operator==(const Question&, const Question&) = default;
};

struct Record {
  Name name;
  std::uint16_t type = 0;
  std::uint16_t rclass = kClassIn;
  bool cache_flush = false;  // top bit of the class: this record replaces others of its set
  std::uint32_t ttl = 0;
  Rdata rdata;
  friend bool operator==(const Record&, const Record&) = default;
};

inline constexpr std::uint16_t kFlagResponse = 0x8000;
inline constexpr std::uint16_t kFlagAuthoritative = 0x0400;
inline constexpr std::uint16_t kFlagTruncated = 0x0200;

struct Message {
  std::uint16_t id = 0;
  std::uint16_t flags = 0;
  std::vector<Question> questions;
  std::vector<Record> answers;
  std::vector<Record> authorities;
  std::vector<Record> additionals;

  bool is_response() const noexcept { return (flags & kFlagResponse) != 0; }
  // RFC 6762 §18.3: queries and responses with a non-zero opcode are ignored.
  std::uint8_t opcode() const noexcept { return static_cast<std::uint8_t>((flags >> 11) & 0xF); }
  friend bool operator==(const Message&, const Message&) = default;
};

result<Message> parse(std::span<const std::uint8_t> packet) noexcept;
result<std::vector<std::uint8_t>> build(const Message& message,
                                        std::size_t max_size = kMaxBuiltPacketSize) noexcept;

// Wire form of the record data with names uncompressed and lower-cased: RFC 6762 §8.2
// compares these bytes to break ties between simultaneous probes.
std::vector<std::uint8_t> canonical_rdata(const Record& record);

}  // namespace lanspread::discovery::dns
