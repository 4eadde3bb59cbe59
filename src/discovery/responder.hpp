// Sans-IO DNS-SD responder for one lanspread service instance: names, records, the probe and
// announcement schedule, answers to queries and conflict handling (RFC 6762 §8-10, RFC 6763).
// It never touches a socket or a clock; the caller passes `now` and sends what it returns.
#pragma once

#include "discovery/dns_message.hpp"
#include "discovery/error.hpp"
#include "discovery/interfaces.hpp"
#include "discovery/settings.hpp"

#include <map>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace lanspread::discovery {

inline constexpr std::string_view kServiceType = "_lanspread._udp.local";
inline constexpr std::string_view kServicesEnumeration = "_services._dns-sd._udp.local";
inline constexpr std::string_view kProtocolVersion = "3";
inline constexpr std::size_t kMaxPeerIdLength = 128;

struct Advertisement {
  std::string id;          // the peer id, TXT `id`; also names the instance (first 8 chars)
  std::string host_label;  // readable label, usually the host name
  std::uint16_t port = 0;  // the QUIC port, SRV
  std::uint64_t rev = 0;   // library revision, TXT `rev`
  std::vector<std::pair<std::string, std::string>> extra_txt;  // more keys, after v/id/rev
};

// Refuses what cannot be published: empty or oversize id, port 0, TXT entries over 255
// bytes, keys that are empty, contain '=' or repeat v/id/rev.
result<void> validate(const Advertisement& ad);

dns::TxtData build_txt(const Advertisement& ad);
// RFC 6763 §6: keys are case-insensitive (lower-cased here), the first occurrence wins,
// a key without '=' has an empty value.
std::map<std::string, std::string> parse_txt(const dns::TxtData& txt);

class Responder {
 public:
  enum class Step { none, probe, announce };
  struct Poll {
    Step step = Step::none;
    std::optional<Clock::time_point> next;  // when to poll again; empty when idle
  };

  // `ad` must pass validate().
  Responder(Advertisement ad, const Settings& settings, unsigned seed = std::random_device{}());

  const Advertisement& advertisement() const noexcept { return ad_; }
  const dns::Name& instance_name() const noexcept { return instance_; }
  const dns::Name& host_name() const noexcept { return host_; }
  const std::string& instance_label() const noexcept { return instance_.labels.front(); }
  bool running() const noexcept { return state_ == State::running; }
  // True once an announcement went out, i.e. when a goodbye is owed on shutdown.
  bool announced() const noexcept {
    return state_ == State::running || (state_ == State::announcing && sent_ > 0);
  }

  // Begins probing after a random 0-250 ms (RFC 6762 §8.1).
  void start(Clock::time_point now);
  // Changes `rev` and re-announces.
  void set_rev(std::uint64_t rev, Clock::time_point now);
  // What to send now, and when to call again.
  Poll poll(Clock::time_point now);

  dns::Message probe(const NetInterface& iface) const;
  // All records with the addresses of `iface`; TTL 0 for a goodbye.
  dns::Message announcement(const NetInterface& iface, bool goodbye = false) const;
  // Answer to a query that arrived on `iface`, or nothing. `legacy` is a query from a port
  // other than 5353 (RFC 6762 §6.7): answered by unicast with the id and questions echoed.
  std::optional<dns::Message> answer(const dns::Message& query, const NetInterface& iface,
                                     bool legacy) const;
  // Looks at every received message for records that conflict with ours or probes that win
  // a tie-break. Returns true when the responder renamed itself or restarted probing (the
  // caller should poll now).
  bool check_conflict(const dns::Message& message, Clock::time_point now);

  std::size_t renames() const noexcept { return renames_; }

 private:
  enum class State { idle, probing, announcing, running };
  std::vector<dns::Record> unique_records(const NetInterface& iface, std::uint32_t ttl) const;
  void set_names();
  void restart_probing(Clock::time_point at);

  Advertisement ad_;
  Settings settings_;
  std::minstd_rand rng_;
  dns::Name service_;
  dns::Name services_enum_;
  dns::Name instance_;
  dns::Name host_;
  std::size_t renames_ = 0;
  State state_ = State::idle;
  int sent_ = 0;
  Clock::time_point next_{};
};

}  // namespace lanspread::discovery
