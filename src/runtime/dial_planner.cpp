#include "runtime/dial_planner.hpp"

#include <arpa/inet.h>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <limits>

namespace lanspread::runtime {
namespace {

using Clock = DialPlanner::Clock;

std::optional<boost::asio::ip::address> ip_of(const transport::Address& a) {
  if (a.storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    return boost::asio::ip::address_v4(ntohl(in->sin_addr.s_addr));
  }
  if (a.storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    boost::asio::ip::address_v6::bytes_type bytes;
    std::copy(std::begin(in6->sin6_addr.s6_addr), std::end(in6->sin6_addr.s6_addr), bytes.begin());
    return boost::asio::ip::address_v6(bytes, in6->sin6_scope_id);
  }
  return std::nullopt;
}

std::uint16_t port_of(const transport::Address& a) {
  if (a.storage.ss_family == AF_INET)
    return ntohs(reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_port);
  if (a.storage.ss_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_port);
  return 0;
}

std::int64_t ticks(Clock::time_point t) {
  return t.time_since_epoch().count();
}

}  // namespace

bool DialPlanner::usable(const transport::Address& a, bool announced) const {
  const auto ip = ip_of(a);
  if (!ip) return false;
  const std::uint16_t port = port_of(a);
  if (port == 0 || port < limits_.min_port) return false;
  if (ip->is_unspecified() || ip->is_multicast()) return false;
  if (ip->is_v4() && ip->to_v4() == boost::asio::ip::address_v4::broadcast()) return false;
  // A peer on another machine is never at our loopback: an announcement naming it would
  // point us at local services.
  if (announced && ip->is_loopback()) return false;
  return true;
}

std::string DialPlanner::remember(const transport::Address& a, Clock::time_point now) {
  const auto ip = ip_of(a);
  std::string host = ip->to_string();  // with the scope of a link-local IPv6 address
  std::string key = host + '/' + std::to_string(port_of(a));
  auto [it, fresh] = addresses_.try_emplace(key);
  if (fresh) {
    it->second.address = a;
    it->second.host = host;
    it->second.last_used = now;
    hosts_.try_emplace(host).first->second.last_used = now;
  }
  return key;
}

void DialPlanner::trim_history() {
  std::set<std::string> referenced;
  for (const auto& [id, p] : peers_) referenced.insert(p.addresses.begin(), p.addresses.end());
  std::vector<std::pair<Clock::time_point, std::string>> idle;
  for (const auto& [key, a] : addresses_) {
    if (!a.busy && !referenced.contains(key)) idle.emplace_back(a.last_used, key);
  }
  std::sort(idle.begin(), idle.end());
  // Down to three quarters, so trimming happens once per many new addresses.
  std::size_t excess =
      addresses_.size() - std::min(addresses_.size(), limits_.max_tracked_addresses * 3 / 4);
  for (const auto& [when, key] : idle) {
    if (excess == 0) break;
    const AddressState& a = addresses_.at(key);
    HostState& h = hosts_.at(a.host);
    if (!a.answered && a.failures > 0 && h.failing_ports > 0) --h.failing_ports;
    addresses_.erase(key);
    --excess;
  }
  std::set<std::string> live_hosts;
  for (const auto& [key, a] : addresses_) live_hosts.insert(a.host);
  std::erase_if(hosts_, [&](const auto& kv) { return !live_hosts.contains(kv.first); });
}

DialPlanner::Admission DialPlanner::offer(const std::string& peer,
                                          const std::vector<transport::Address>& addresses,
                                          bool announced, Clock::time_point now) {
  std::vector<transport::Address> kept;
  for (int pass = 0; pass < 2; ++pass) {  // IPv4 first: the endpoint binds IPv4 by default
    for (const auto& a : addresses) {
      if ((a.storage.ss_family == AF_INET) != (pass == 0) || !usable(a, announced)) continue;
      if (std::find(kept.begin(), kept.end(), a) != kept.end()) continue;
      if (kept.size() < limits_.max_addresses_per_peer) kept.push_back(a);
    }
  }
  if (kept.empty()) return Admission::no_usable_address;
  auto it = peers_.find(peer);
  const bool fresh = it == peers_.end();
  if (fresh) {
    if (peers_.size() >= limits_.max_peers && !evict_one()) return Admission::full;
    it = peers_.emplace(peer, Peer{}).first;
    it->second.offered = now;
  }
  Peer& p = it->second;
  p.addresses.clear();
  for (const auto& a : kept) p.addresses.push_back(remember(a, now));
  if (addresses_.size() > limits_.max_tracked_addresses) trim_history();
  return fresh ? Admission::added : Admission::updated;
}

bool DialPlanner::evict_one() {
  std::set<std::string> asked;
  for (const auto& [t, r] : requests_) asked.insert(r.peer);
  std::map<std::string, Peer>::iterator worst = peers_.end();
  int worst_failures = 0;
  for (auto it = peers_.begin(); it != peers_.end(); ++it) {
    const Peer& p = it->second;
    if (p.verified || p.probing || asked.contains(it->first)) continue;
    int failures = std::numeric_limits<int>::max();  // of its best address
    for (const auto& key : p.addresses) {
      const auto& a = addresses_.at(key);
      failures = std::min(failures, a.answered ? 0 : a.failures);
    }
    if (failures == 0) continue;  // not tried yet, or it answered: keep it
    if (failures > worst_failures ||
        (failures == worst_failures && p.offered < worst->second.offered)) {
      worst = it;
      worst_failures = failures;
    }
  }
  if (worst == peers_.end()) return false;
  peers_.erase(worst);
  return true;
}

void DialPlanner::forget(const std::string& peer) {
  peers_.erase(peer);
}

void DialPlanner::set_verified(const std::string& peer, bool verified) {
  if (auto it = peers_.find(peer); it != peers_.end()) it->second.verified = verified;
}

void DialPlanner::contacted_by(const std::string& peer) {
  if (auto it = peers_.find(peer); it != peers_.end()) it->second.contacted = true;
}

std::vector<transport::Address> DialPlanner::addresses(const std::string& peer) const {
  std::vector<transport::Address> out;
  auto it = peers_.find(peer);
  if (it == peers_.end()) return out;
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& key : it->second.addresses) {
      const auto& a = addresses_.at(key);
      if (a.answered == (pass == 0)) out.push_back(a.address);
    }
  }
  return out;
}

bool DialPlanner::allowed(const std::string& key, Clock::time_point now) const {
  const AddressState& a = addresses_.at(key);
  if (a.next > now) return false;
  if (a.answered) return true;
  // Ports of a host that never answered are dialled two at a time, and back off together
  // once two have failed, so announcements cannot spread dials over many ports of a victim.
  const HostState& h = hosts_.at(a.host);
  if (h.busy >= limits_.max_unanswered_dials_per_host) return false;
  return h.failing_ports < 2 || (h.next <= now && h.busy == 0);
}

const std::string* DialPlanner::next_address(const Request& r, Clock::time_point now,
                                             bool wait_for_busy) const {
  auto it = peers_.find(r.peer);
  if (it == peers_.end()) return nullptr;
  for (int pass = 0; pass < 2; ++pass) {  // addresses that answered before go first
    for (const auto& key : it->second.addresses) {
      const auto& a = addresses_.at(key);
      if (a.answered != (pass == 0) || r.tried.contains(key) || !allowed(key, now)) continue;
      if (a.busy && !wait_for_busy) continue;
      return &key;
    }
  }
  return nullptr;
}

std::pair<int, std::int64_t> DialPlanner::rank(const Peer& p, const std::string& key,
                                               Clock::time_point since) const {
  const AddressState& a = addresses_.at(key);
  if (a.answered) return {0, ticks(since)};
  if (p.contacted || p.verified) return {1, ticks(since)};
  // Never tried: the newest announcement first, so a real peer that appears while a flood
  // of forged ones waits is dialled at once.
  if (a.failures == 0) return {2, -ticks(p.offered)};
  return {3, ticks(std::max(a.next, since))};
}

std::optional<DialPlanner::Ticket> DialPlanner::request(const std::string& peer,
                                                        Clock::time_point now) {
  Request r;
  r.peer = peer;
  r.since = now;
  if (next_address(r, now, true) == nullptr) return std::nullopt;
  const Ticket t = next_ticket_++;
  requests_.emplace(t, std::move(r));
  return t;
}

std::vector<DialPlanner::Attempt> DialPlanner::grant(Clock::time_point now) {
  std::vector<Attempt> out;
  if (in_flight_ >= limits_.max_handshakes) return out;
  struct Candidate {
    std::pair<int, std::int64_t> rank;
    Ticket ticket;
  };
  std::vector<Candidate> waiting;
  for (const auto& [t, r] : requests_) {
    if (r.attempt) continue;
    if (const std::string* key = next_address(r, now, false))
      waiting.push_back({rank(peers_.at(r.peer), *key, r.since), t});
  }
  std::sort(waiting.begin(), waiting.end(), [](const Candidate& a, const Candidate& b) {
    return a.rank != b.rank ? a.rank < b.rank : a.ticket < b.ticket;
  });
  for (const auto& c : waiting) {
    if (in_flight_ >= limits_.max_handshakes) break;
    Request& r = requests_.at(c.ticket);
    const std::string* key = next_address(r, now, false);  // an earlier grant may have taken it
    if (key == nullptr) continue;
    AddressState& a = addresses_.at(*key);
    a.busy = true;
    a.holds_host = !a.answered;
    if (a.holds_host) ++hosts_.at(a.host).busy;
    a.last_used = now;
    r.tried.insert(*key);
    r.attempt_key = *key;
    r.attempt = Attempt{c.ticket, r.peer, a.address};
    ++in_flight_;
    out.push_back(*r.attempt);
  }
  return out;
}

const DialPlanner::Attempt* DialPlanner::granted(Ticket ticket) const {
  auto it = requests_.find(ticket);
  return it == requests_.end() || !it->second.attempt ? nullptr : &*it->second.attempt;
}

void DialPlanner::release(Request& r, std::optional<bool> answered, Clock::time_point now) {
  if (!r.attempt) return;
  r.attempt.reset();
  --in_flight_;
  auto found = addresses_.find(r.attempt_key);
  if (found == addresses_.end()) return;
  AddressState& a = found->second;
  HostState& h = hosts_.at(a.host);
  a.busy = false;
  if (a.holds_host) --h.busy;
  a.holds_host = false;
  if (!answered) return;  // cancelled: no verdict on the address
  a.last_used = now;
  auto delay = [&](int failures, bool proven = false) {
    const auto first = proven ? limits_.backoff_answered_initial : limits_.backoff_initial;
    const auto most = proven ? limits_.backoff_answered_max : limits_.backoff_max;
    auto d = first;
    for (int i = 1; i < failures && d < most; ++i) d *= 2;
    return std::min(d, most);
  };
  if (*answered) {
    if (!a.answered && a.failures > 0 && h.failing_ports > 0) --h.failing_ports;
    a.answered = true;
    a.failures = 0;
    a.next = now;
    h.failures = 0;
    h.next = now;
    return;
  }
  if (!a.answered && a.failures == 0) ++h.failing_ports;
  a.next = now + delay(++a.failures, a.answered);
  if (!a.answered) h.next = std::max(h.next, now + delay(++h.failures));
}

void DialPlanner::finished(Ticket ticket, bool answered, Clock::time_point now) {
  auto it = requests_.find(ticket);
  if (it != requests_.end()) release(it->second, answered, now);
}

void DialPlanner::close(Ticket ticket) {
  auto it = requests_.find(ticket);
  if (it == requests_.end()) return;
  release(it->second, std::nullopt, Clock::time_point{});
  requests_.erase(it);
}

bool DialPlanner::exhausted(Ticket ticket, Clock::time_point now) const {
  auto it = requests_.find(ticket);
  if (it == requests_.end()) return true;
  return !it->second.attempt && next_address(it->second, now, true) == nullptr;
}

std::size_t DialPlanner::queued() const {
  return static_cast<std::size_t>(std::count_if(requests_.begin(), requests_.end(),
                                                [](const auto& kv) { return !kv.second.attempt; }));
}

std::size_t DialPlanner::free_slots() const {
  const std::size_t used = in_flight_ + queued();
  return used >= limits_.max_handshakes ? 0 : limits_.max_handshakes - used;
}

std::vector<std::string> DialPlanner::due_probes(Clock::time_point now, std::size_t room) {
  std::set<std::string> asked;
  for (const auto& [t, r] : requests_) asked.insert(r.peer);
  std::vector<std::pair<std::pair<int, std::int64_t>, const std::string*>> due;
  for (const auto& [id, p] : peers_) {
    if (p.verified || p.probing || asked.contains(id)) continue;
    Request probe;
    probe.peer = id;
    probe.since = p.offered;
    if (const std::string* key = next_address(probe, now, false))
      due.emplace_back(rank(p, *key, p.offered), &id);
  }
  std::sort(due.begin(), due.end());
  std::vector<std::string> out;
  for (const auto& [r, id] : due) {
    if (out.size() >= room) break;
    peers_.at(*id).probing = true;
    out.push_back(*id);
  }
  return out;
}

void DialPlanner::probe_done(const std::string& peer) {
  if (auto it = peers_.find(peer); it != peers_.end()) it->second.probing = false;
}

std::optional<Clock::time_point> DialPlanner::next_probe() const {
  std::optional<Clock::time_point> best;
  for (const auto& [id, p] : peers_) {
    if (p.verified || p.probing) continue;
    for (const auto& key : p.addresses) {
      const AddressState& a = addresses_.at(key);
      Clock::time_point at = a.next;
      if (!a.answered) {
        const HostState& h = hosts_.at(a.host);
        if (h.busy > 0 && (h.failing_ports >= 2 || h.busy >= limits_.max_unanswered_dials_per_host))
          continue;  // due when a running dial ends, which wakes the runtime anyway
        if (h.failing_ports >= 2) at = std::max(at, h.next);
      }
      if (!best || at < *best) best = at;
    }
  }
  return best;
}

}  // namespace lanspread::runtime
