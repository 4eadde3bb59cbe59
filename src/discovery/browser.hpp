// Sans-IO DNS-SD browser for `_lanspread._udp.local`: a per-interface record cache with TTL
// expiry, cache-flush and goodbye handling, refresh queries at 80-95% of a record's TTL
// (RFC 6762 §5.2), PTR queries with doubling intervals, resolution of instances to
// addresses + port + TXT, and the PeerSeen/PeerChanged/PeerLost events derived from it.
// It never touches a socket or a clock; the caller passes `now` and sends the queries.
#pragma once

#include "discovery/dns_message.hpp"
#include "discovery/events.hpp"
#include "discovery/interfaces.hpp"
#include "discovery/settings.hpp"

#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace lanspread::discovery {

class Browser {
 public:
  struct Query {
    unsigned ifindex = 0;  // 0: every interface
    dns::Message message;
  };
  struct Tick {
    std::vector<Event> events;
    std::vector<Query> queries;
    std::optional<Clock::time_point> next;  // when to tick again
  };

  // `self_id` and the instance set with `ignore_instance` are ours: never reported.
  Browser(const Settings& settings, std::string self_id, unsigned seed = std::random_device{}());

  void set_self_instance(const dns::Name& instance);
  void set_self_id(std::string id) { self_id_ = std::move(id); }
  // Starts (or restarts, e.g. when an interface appears) the PTR query sequence.
  void start(Clock::time_point now);
  // Records of a response that arrived on `iface`.
  std::vector<Event> on_response(const dns::Message& message, const NetInterface& iface,
                                 Clock::time_point now);
  // Expires records and says which queries are due. `interfaces` are the current ones; known
  // answers are filled per interface.
  Tick tick(Clock::time_point now, const std::vector<NetInterface>& interfaces);
  // Forgets what was learned on an interface that went away.
  std::vector<Event> drop_interface(unsigned ifindex);

  std::vector<Peer> peers() const;
  std::size_t cached_records() const noexcept { return cache_.size(); }

 private:
  struct Entry {
    dns::Record record;
    unsigned ifindex = 0;
    std::string ifname;
    Clock::time_point received;
    Clock::time_point expires;
    int refreshes_sent = 0;  // of the four refresh queries at 80, 85, 90, 95 % of the TTL
    Clock::time_point next_refresh;
  };
  struct Pending {
    dns::Name instance;
    Clock::time_point next;
    milliseconds interval{0};
  };

  void store(const dns::Record& r, const NetInterface& iface, Clock::time_point now);
  void schedule_refresh(Entry& e);
  std::vector<Event> recompute();
  std::map<std::string, Peer> assemble(
      std::vector<std::pair<unsigned, dns::Name>>& incomplete) const;
  dns::Message query_with_known_answers(std::vector<dns::Question> questions, unsigned ifindex,
                                        Clock::time_point now) const;

  Settings settings_;
  std::string self_id_;
  std::minstd_rand rng_;
  dns::Name service_;
  std::vector<std::string> ignored_;  // canonical keys of our own instance names
  std::map<std::string, Entry> cache_;
  std::map<std::string, Peer> peers_;  // by canonical instance key
  std::map<std::string, Pending> resolving_;
  std::optional<Clock::time_point> next_ptr_query_;
  milliseconds ptr_interval_{1000};
};

}  // namespace lanspread::discovery
