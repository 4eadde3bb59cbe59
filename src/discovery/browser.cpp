#include "discovery/browser.hpp"

#include "discovery/limits.hpp"
#include "discovery/responder.hpp"

#include <algorithm>
#include <set>

namespace lanspread::discovery {
namespace {

constexpr auto kPtr = static_cast<std::uint16_t>(dns::RrType::ptr);
constexpr auto kSrv = static_cast<std::uint16_t>(dns::RrType::srv);
constexpr auto kTxt = static_cast<std::uint16_t>(dns::RrType::txt);
constexpr auto kA = static_cast<std::uint16_t>(dns::RrType::a);
constexpr auto kAaaa = static_cast<std::uint16_t>(dns::RrType::aaaa);

std::string entry_key(unsigned ifindex, const dns::Record& r) {
  std::string key = std::to_string(ifindex) + '/' + dns::canonical_key(r.name) + '/' +
                    std::to_string(r.type) + '/';
  auto rdata = dns::canonical_rdata(r);
  key.append(rdata.begin(), rdata.end());
  return key;
}

bool under(const dns::Name& name, const dns::Name& parent) {
  if (name.labels.size() != parent.labels.size() + 1) return false;
  dns::Name tail{{name.labels.begin() + 1, name.labels.end()}};
  return tail == parent;
}

}  // namespace

Browser::Browser(const Settings& settings, std::string self_id, unsigned seed)
    : settings_(settings),
      self_id_(std::move(self_id)),
      rng_(seed),
      service_(dns::name_from_dotted(kServiceType)) {}

void Browser::set_self_instance(const dns::Name& instance) {
  ignored_.assign(1, dns::canonical_key(instance));
}

void Browser::start(Clock::time_point now) {
  // RFC 6762 §5.2: the first query waits a random 20-120 ms so hosts starting together spread.
  next_ptr_query_ = now + milliseconds(std::uniform_int_distribution<int>(20, 120)(rng_));
  ptr_interval_ = settings_.query_initial_interval;
}

void Browser::schedule_refresh(Entry& e) {
  const auto ttl = std::chrono::duration_cast<milliseconds>(std::chrono::seconds(e.record.ttl));
  if (e.refreshes_sent >= 4 || e.record.ttl == 0) {
    e.next_refresh = Clock::time_point::max();
    return;
  }
  // 80, 85, 90, 95 % of the TTL plus up to 2 % random jitter.
  const int percent = 80 + 5 * e.refreshes_sent;
  const double jitter = std::uniform_real_distribution<double>(0.0, 2.0)(rng_);
  e.next_refresh = e.received + milliseconds(static_cast<long>(static_cast<double>(ttl.count()) *
                                                               (percent + jitter) / 100.0));
}

void Browser::store(const dns::Record& r, const NetInterface& iface, Clock::time_point now) {
  if (r.rclass != dns::kClassIn) return;
  const bool relevant = (r.type == kPtr && r.name == service_) ||
                        ((r.type == kSrv || r.type == kTxt) && under(r.name, service_)) ||
                        r.type == kA || r.type == kAaaa;
  if (!relevant) return;
  if (r.cache_flush) {
    // RFC 6762 §10.2: other records of this unique set go. SRV and TXT are single records, so
    // they are replaced at once; addresses received over a second ago get one more second.
    for (auto& [key, e] : cache_) {
      if (e.ifindex != iface.index || e.record.type != r.type || !(e.record.name == r.name) ||
          e.record.rdata == r.rdata)
        continue;
      if (r.type == kSrv || r.type == kTxt) {
        e.expires = now;
      } else if (now - e.received > std::chrono::seconds(1)) {
        e.expires = std::min(e.expires, now + std::chrono::seconds(1));
      }
      e.refreshes_sent = 4;
      e.next_refresh = Clock::time_point::max();
    }
  }
  const std::string key = entry_key(iface.index, r);
  auto it = cache_.find(key);
  if (r.ttl == 0) {
    // Goodbye: keep the record a moment in case another responder still holds it.
    if (it != cache_.end()) {
      it->second.expires = std::min(it->second.expires, now + settings_.goodbye_grace);
      it->second.refreshes_sent = 4;
      it->second.next_refresh = Clock::time_point::max();
    }
    return;
  }
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCachedRecords) return;  // a flood cannot grow memory
    it = cache_.emplace(key, Entry{}).first;
  }
  Entry& e = it->second;
  e.record = r;
  e.ifindex = iface.index;
  e.ifname = iface.name;
  e.received = now;
  e.expires = now + std::chrono::seconds(r.ttl);
  e.refreshes_sent = 0;
  schedule_refresh(e);
}

std::vector<Event> Browser::on_response(const dns::Message& message, const NetInterface& iface,
                                        Clock::time_point now) {
  if (!message.is_response() || message.opcode() != 0) return {};
  for (const auto* section : {&message.answers, &message.authorities, &message.additionals}) {
    for (const auto& r : *section) store(r, iface, now);
  }
  // Expiry of flushed records happens on the next tick; a changed TXT shows at once because
  // assemble() prefers the newest record.
  return recompute();
}

std::map<std::string, Peer> Browser::assemble(
    std::vector<std::pair<unsigned, dns::Name>>& incomplete) const {
  // One pass indexes the cache by name, so assembling stays O(n log n) even when a flood
  // fills the cache.
  std::map<std::string, std::vector<const Entry*>> by_name;
  for (const auto& [k, e] : cache_) by_name[dns::canonical_key(e.record.name)].push_back(&e);
  auto records_of = [&](const dns::Name& n) -> const std::vector<const Entry*>& {
    static const std::vector<const Entry*> none;
    auto it = by_name.find(dns::canonical_key(n));
    return it == by_name.end() ? none : it->second;
  };
  std::map<std::string, Peer> out;
  for (const Entry* ptr : records_of(service_)) {
    if (ptr->record.type != kPtr) continue;
    const auto& instance = std::get<dns::PtrData>(ptr->record.rdata).target;
    if (!under(instance, service_)) continue;
    const std::string ikey = dns::canonical_key(instance);
    if (std::find(ignored_.begin(), ignored_.end(), ikey) != ignored_.end()) continue;
    if (auto seen = out.find(ikey); seen != out.end()) {
      // Seen on another interface too: only the interface list grows.
      auto& ifs = seen->second.interfaces;
      if (std::find(ifs.begin(), ifs.end(), ptr->ifname) == ifs.end()) ifs.push_back(ptr->ifname);
      continue;
    }
    if (out.size() >= kMaxPeers) break;
    const Entry* srv = nullptr;
    const Entry* txt = nullptr;
    for (const Entry* e : records_of(instance)) {
      if (e->record.type == kSrv && (!srv || e->received > srv->received)) srv = e;
      if (e->record.type == kTxt && (!txt || e->received > txt->received)) txt = e;
    }
    if (srv == nullptr || txt == nullptr) {
      incomplete.emplace_back(ptr->ifindex, instance);
      continue;
    }
    const auto& srv_data = std::get<dns::SrvData>(srv->record.rdata);
    auto keys = parse_txt(std::get<dns::TxtData>(txt->record.rdata));
    auto id = keys.find("id");
    // The id names the peer everywhere else (logs, UI, peer db): bounded and printable.
    if (id == keys.end() || id->second.empty() || id->second.size() > kMaxPeerIdLength ||
        std::any_of(id->second.begin(), id->second.end(),
                    [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }) ||
        id->second == self_id_)
      continue;
    std::set<boost::asio::ip::address> addresses;
    for (const Entry* e : records_of(srv_data.target)) {
      if (const auto* a = std::get_if<dns::AData>(&e->record.rdata)) {
        addresses.insert(a->address);
      } else if (const auto* a6 = std::get_if<dns::AaaaData>(&e->record.rdata)) {
        auto v6 = a6->address;
        if (v6.is_link_local()) v6.scope_id(e->ifindex);  // meaningless without its interface
        addresses.insert(v6);
      }
    }
    if (addresses.empty()) {
      incomplete.emplace_back(ptr->ifindex, instance);
      continue;
    }
    Peer peer;
    peer.id = id->second;
    peer.instance = instance.labels.front();
    peer.host = dns::to_string(srv_data.target);
    peer.port = srv_data.port;
    peer.txt = std::move(keys);
    peer.interfaces.push_back(ptr->ifname);
    for (const auto& a : addresses) {
      if (peer.addresses.size() >= kMaxAddressesPerPeer) break;
      peer.addresses.push_back(a);
    }
    out.emplace(ikey, std::move(peer));
  }
  for (auto& [k, p] : out) std::sort(p.interfaces.begin(), p.interfaces.end());
  return out;
}

std::vector<Event> Browser::recompute() {
  std::vector<std::pair<unsigned, dns::Name>> incomplete;
  auto now_peers = assemble(incomplete);
  std::vector<Event> events;
  for (const auto& [key, old] : peers_) {
    if (!now_peers.contains(key)) events.push_back(PeerLost{old.id, old.instance});
  }
  for (const auto& [key, peer] : now_peers) {
    auto it = peers_.find(key);
    if (it == peers_.end()) {
      events.push_back(PeerSeen{peer});
    } else if (!(it->second == peer)) {
      events.push_back(PeerChanged{peer});
    }
  }
  peers_ = std::move(now_peers);
  // Resolution state follows what is incomplete now.
  std::map<std::string, Pending> still;
  for (auto& [ifindex, name] : incomplete) {
    const auto key = std::to_string(ifindex) + '/' + dns::canonical_key(name);
    auto it = resolving_.find(key);
    still[key] = it != resolving_.end() ? std::move(it->second)
                                        : Pending{std::move(name), Clock::time_point::min(), {}};
  }
  resolving_ = std::move(still);
  return events;
}

dns::Message Browser::query_with_known_answers(std::vector<dns::Question> questions,
                                               unsigned ifindex, Clock::time_point now) const {
  dns::Message m;
  m.questions = std::move(questions);
  // RFC 6762 §7.1: list answers we hold with more than half their TTL left.
  for (const auto& [k, e] : cache_) {
    if (e.ifindex != ifindex || e.record.ttl == 0) continue;
    if (std::none_of(m.questions.begin(), m.questions.end(), [&](const dns::Question& q) {
          return q.name == e.record.name && q.type == e.record.type;
        }))
      continue;
    const auto half = std::chrono::seconds(e.record.ttl) / 2;
    if (e.expires - now <= half) continue;
    auto r = e.record;
    r.ttl = static_cast<std::uint32_t>(
        std::chrono::duration_cast<std::chrono::seconds>(e.expires - now).count());
    r.cache_flush = false;
    m.answers.push_back(std::move(r));
    if (m.answers.size() >= 24) break;  // stays well inside one packet
  }
  return m;
}

Browser::Tick Browser::tick(Clock::time_point now, const std::vector<NetInterface>& interfaces) {
  Tick t;
  bool expired = false;
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (it->second.expires <= now) {
      it = cache_.erase(it);
      expired = true;
    } else {
      ++it;
    }
  }
  if (expired) t.events = recompute();

  auto question = [](const dns::Name& n, std::uint16_t type) {
    return dns::Question{n, type, dns::kClassIn, false};
  };
  if (next_ptr_query_ && *next_ptr_query_ <= now) {
    for (const auto& iface : interfaces) {
      t.queries.push_back(
          {iface.index, query_with_known_answers({question(service_, kPtr)}, iface.index, now)});
    }
    next_ptr_query_ = now + ptr_interval_;
    ptr_interval_ = std::min(ptr_interval_ * 2, settings_.query_max_interval);
  }
  // Refresh queries for records about to expire, one per name and type and interface; only
  // for records of other lanspread peers (not our own, not other hosts' address records).
  std::set<std::string> wanted{dns::canonical_key(service_)};
  for (const auto& [k, e] : cache_) {
    if (const auto* ptr = std::get_if<dns::PtrData>(&e.record.rdata)) {
      const auto key = dns::canonical_key(ptr->target);
      if (std::find(ignored_.begin(), ignored_.end(), key) == ignored_.end()) wanted.insert(key);
    }
  }
  for (const auto& [k, e] : cache_) {
    const auto* srv = std::get_if<dns::SrvData>(&e.record.rdata);
    if (srv != nullptr && wanted.contains(dns::canonical_key(e.record.name)))
      wanted.insert(dns::canonical_key(srv->target));
  }
  std::set<std::string> asked;
  for (auto& [k, e] : cache_) {
    if (e.next_refresh > now) continue;
    ++e.refreshes_sent;
    schedule_refresh(e);
    if (!wanted.contains(dns::canonical_key(e.record.name))) continue;
    if (const auto* ptr = std::get_if<dns::PtrData>(&e.record.rdata);
        ptr != nullptr && !wanted.contains(dns::canonical_key(ptr->target)))
      continue;
    const auto key = std::to_string(e.ifindex) + '/' + dns::canonical_key(e.record.name) + '/' +
                     std::to_string(e.record.type);
    if (!asked.insert(key).second) continue;
    t.queries.push_back({e.ifindex, query_with_known_answers(
                                        {question(e.record.name, e.record.type)}, e.ifindex, now)});
  }
  // Instances known by PTR but missing SRV, TXT or addresses. Bounded per tick so a flood of
  // bare PTR records cannot turn into a query storm.
  std::size_t resolve_budget = 16;
  for (auto& [key, pending] : resolving_) {
    if (pending.next > now || resolve_budget == 0) continue;
    --resolve_budget;
    const unsigned ifindex = static_cast<unsigned>(std::stoul(key.substr(0, key.find('/'))));
    std::vector<dns::Question> qs{question(pending.instance, kSrv),
                                  question(pending.instance, kTxt)};
    for (const auto& [k, e] : cache_) {
      if (e.record.type == kSrv && e.record.name == pending.instance) {
        const auto& target = std::get<dns::SrvData>(e.record.rdata).target;
        qs.push_back(question(target, kA));
        qs.push_back(question(target, kAaaa));
        break;
      }
    }
    t.queries.push_back({ifindex, query_with_known_answers(std::move(qs), ifindex, now)});
    pending.interval = pending.interval.count() == 0
                           ? settings_.query_initial_interval
                           : std::min(pending.interval * 2, settings_.query_max_interval);
    pending.next = now + pending.interval;
  }

  std::optional<Clock::time_point> next = next_ptr_query_;
  auto consider = [&](Clock::time_point tp) {
    if (tp != Clock::time_point::max() && (!next || tp < *next)) next = tp;
  };
  for (const auto& [k, e] : cache_) {
    consider(e.expires);
    consider(e.next_refresh);
  }
  for (const auto& [k, p] : resolving_) consider(p.next);
  t.next = next;
  return t;
}

std::vector<Event> Browser::drop_interface(unsigned ifindex) {
  std::erase_if(cache_, [&](const auto& kv) { return kv.second.ifindex == ifindex; });
  return recompute();
}

std::vector<Peer> Browser::peers() const {
  std::vector<Peer> out;
  for (const auto& [k, p] : peers_) out.push_back(p);
  return out;
}

}  // namespace lanspread::discovery
