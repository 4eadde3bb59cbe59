// Sans-IO DNS-SD browser for `_lanspread._udp.local`: a per-interface record cache with TTL
// expiry, cache-flush and goodbye handling, refresh queries at 80-95% of a record's TTL
// (RFC 6762 §5.2), PTR queries with doubling intervals, resolution of instances to
// addresses + port + TXT, and the PeerSeen/PeerChanged/PeerLost events derived from it.
// It never touches a socket or a clock; the caller passes `now` and sends the queries.
//
// Every packet is hostile, so the work it causes is bounded and incremental: a record is
// kept only if it belongs to a lanspread instance the cache knows (PTR first, then its SRV
// and TXT, then the addresses its SRV names), at most one SRV and one TXT per instance and
// interface, 16 addresses per host name and interface, 1,024 instances, 4,096 records, and
// no TTL above 10 minutes. Indexes by name, by SRV target and by deadline mean a packet
// costs work in proportion to its own records and the instances they touch, and a tick in
// proportion to the records that fall due, never to the whole cache.
#pragma once

#include "discovery/dns_message.hpp"
#include "discovery/events.hpp"
#include "discovery/interfaces.hpp"
#include "discovery/settings.hpp"

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
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
  // How much work the browser did, for tests and diagnostics.
  struct Stats {
    std::size_t instances_assembled = 0;  // per-instance recomputations
    std::size_t records_refused = 0;      // by the caps above
  };

  // `self_id` and the instance set with `set_self_instance` are ours: never reported.
  Browser(const Settings& settings, std::string self_id, unsigned seed = std::random_device{}());

  void set_self_instance(const dns::Name& instance);
  void set_self_id(std::string id);
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
  const Stats& stats() const noexcept { return stats_; }

 private:
  struct Entry {
    dns::Record record;
    std::string name_key;  // canonical name
    unsigned ifindex = 0;
    std::string ifname;
    Clock::time_point received;
    Clock::time_point expires;
    int refreshes_sent = 0;  // of the four refresh queries at 80, 85, 90, 95 % of the TTL
    Clock::time_point next_refresh = Clock::time_point::max();
  };
  struct Pending {
    Clock::time_point next;
    milliseconds interval{0};
  };
  using Cache = std::map<std::string, Entry>;

  bool admit(const dns::Record& r, const NetInterface& iface);
  void store(const dns::Record& r, const NetInterface& iface, Clock::time_point now);
  Cache::iterator insert(std::string key, Entry e);
  void erase(Cache::iterator it);
  void set_expiry(Entry& e, const std::string& key, Clock::time_point expires);
  void set_refresh(Entry& e, const std::string& key, Clock::time_point next);
  void schedule_refresh(Entry& e, const std::string& key);
  // Marks the instances a record feeds as needing a recomputation.
  void touch(const Entry& e);
  std::vector<Event> recompute();
  // The peer an instance describes now; nullopt when it is not (or no longer) complete.
  std::optional<Peer> assemble(const std::string& instance_key, bool& incomplete);
  void set_pending(const std::string& instance_key, bool incomplete);
  bool wanted(const Entry& e) const;
  bool ignored(const std::string& instance_key) const;
  std::vector<const Entry*> entries_named(const std::string& name_key) const;
  dns::Message query_with_known_answers(std::vector<dns::Question> questions, unsigned ifindex,
                                        Clock::time_point now) const;

  Settings settings_;
  std::string self_id_;
  std::minstd_rand rng_;
  dns::Name service_;
  std::string service_key_;
  std::vector<std::string> ignored_;  // canonical keys of our own instance names
  Cache cache_;
  std::map<std::string, std::set<std::string>> by_name_;  // name key -> entry keys
  std::map<std::string, std::set<std::string>> ptrs_;     // instance key -> PTR entry keys
  // host key -> instance keys whose SRV names it, with how many SRV records (interfaces) do
  std::map<std::string, std::map<std::string, int>> srv_targets_;
  std::set<std::pair<Clock::time_point, std::string>> expiries_;   // (expires, entry key)
  std::set<std::pair<Clock::time_point, std::string>> refreshes_;  // (next refresh, entry key)
  std::set<std::string> dirty_;                                    // instance keys
  std::map<std::string, Peer> peers_;                              // by instance key
  // Instances known by PTR but missing SRV, TXT or addresses, per interface to ask on.
  std::map<std::string, std::map<unsigned, Pending>> resolving_;
  std::set<std::tuple<Clock::time_point, std::string, unsigned>> resolve_queue_;
  std::optional<Clock::time_point> next_ptr_query_;
  milliseconds ptr_interval_{1000};
  // A new instance was refused for lack of room: ask again for PTRs once room frees, so a
  // real peer refused during a flood is found soon after the flood expires.
  bool refused_instance_ = false;
  std::map<unsigned, Clock::time_point> ptr_refreshed_;  // last PTR refresh query per interface
  Stats stats_;
};

}  // namespace lanspread::discovery
