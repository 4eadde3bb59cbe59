#include "discovery/browser.hpp"

#include "discovery/limits.hpp"
#include "discovery/responder.hpp"

#include <algorithm>

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

bool is_address(std::uint16_t type) {
  return type == kA || type == kAaaa;
}

// The id names the peer everywhere else (logs, UI, peer db): bounded and printable.
bool usable_id(const std::string& id) {
  return !id.empty() && id.size() <= kMaxPeerIdLength &&
         std::none_of(id.begin(), id.end(),
                      [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

}  // namespace

Browser::Browser(const Settings& settings, std::string self_id, unsigned seed)
    : settings_(settings),
      self_id_(std::move(self_id)),
      rng_(seed),
      service_(dns::name_from_dotted(kServiceType)),
      service_key_(dns::canonical_key(service_)) {}

void Browser::set_self_instance(const dns::Name& instance) {
  dirty_.insert(ignored_.begin(), ignored_.end());
  ignored_.assign(1, dns::canonical_key(instance));
  dirty_.insert(ignored_.front());
}

void Browser::set_self_id(std::string id) {
  self_id_ = std::move(id);
  for (const auto& [instance, keys] : ptrs_) dirty_.insert(instance);
}

bool Browser::ignored(const std::string& instance_key) const {
  return std::find(ignored_.begin(), ignored_.end(), instance_key) != ignored_.end();
}

void Browser::start(Clock::time_point now) {
  // RFC 6762 §5.2: the first query waits a random 20-120 ms so hosts starting together spread.
  next_ptr_query_ = now + milliseconds(std::uniform_int_distribution<int>(20, 120)(rng_));
  ptr_interval_ = settings_.query_initial_interval;
}

// ---- the cache and its indexes -------------------------------------------------------

std::vector<const Browser::Entry*> Browser::entries_named(const std::string& name_key) const {
  std::vector<const Entry*> out;
  if (auto it = by_name_.find(name_key); it != by_name_.end()) {
    for (const auto& key : it->second) out.push_back(&cache_.at(key));
  }
  return out;
}

void Browser::touch(const Entry& e) {
  if (e.record.type == kPtr) {
    dirty_.insert(dns::canonical_key(std::get<dns::PtrData>(e.record.rdata).target));
  } else if (e.record.type == kSrv || e.record.type == kTxt) {
    dirty_.insert(e.name_key);
  } else if (auto it = srv_targets_.find(e.name_key); it != srv_targets_.end()) {
    for (const auto& [instance, count] : it->second) dirty_.insert(instance);
  }
}

Browser::Cache::iterator Browser::insert(std::string key, Entry e) {
  auto it = cache_.emplace(std::move(key), std::move(e)).first;
  const std::string& k = it->first;
  Entry& entry = it->second;
  by_name_[entry.name_key].insert(k);
  expiries_.emplace(entry.expires, k);
  if (entry.next_refresh != Clock::time_point::max()) refreshes_.emplace(entry.next_refresh, k);
  if (entry.record.type == kPtr) {
    ptrs_[dns::canonical_key(std::get<dns::PtrData>(entry.record.rdata).target)].insert(k);
  } else if (entry.record.type == kSrv) {
    ++srv_targets_[dns::canonical_key(std::get<dns::SrvData>(entry.record.rdata).target)]
                  [entry.name_key];
  }
  touch(entry);
  return it;
}

void Browser::erase(Cache::iterator it) {
  const std::string& k = it->first;
  const Entry& e = it->second;
  touch(e);
  auto drop = [&](auto& index, const std::string& at) {
    auto found = index.find(at);
    found->second.erase(k);
    if (found->second.empty()) index.erase(found);
  };
  drop(by_name_, e.name_key);
  expiries_.erase({e.expires, k});
  refreshes_.erase({e.next_refresh, k});
  if (e.record.type == kPtr) {
    const auto instance = dns::canonical_key(std::get<dns::PtrData>(e.record.rdata).target);
    drop(ptrs_, instance);
    if (refused_instance_ && !ptrs_.contains(instance) && next_ptr_query_) {
      refused_instance_ = false;
      ptr_interval_ = settings_.query_initial_interval;
      next_ptr_query_ = std::min(*next_ptr_query_, e.expires + ptr_interval_);
    }
  } else if (e.record.type == kSrv) {
    auto host =
        srv_targets_.find(dns::canonical_key(std::get<dns::SrvData>(e.record.rdata).target));
    if (--host->second[e.name_key] == 0) host->second.erase(e.name_key);
    if (host->second.empty()) srv_targets_.erase(host);
  }
  cache_.erase(it);
}

void Browser::set_expiry(Entry& e, const std::string& key, Clock::time_point expires) {
  expiries_.erase({e.expires, key});
  e.expires = expires;
  expiries_.emplace(expires, key);
}

void Browser::set_refresh(Entry& e, const std::string& key, Clock::time_point next) {
  refreshes_.erase({e.next_refresh, key});
  e.next_refresh = next;
  if (next != Clock::time_point::max()) refreshes_.emplace(next, key);
}

void Browser::schedule_refresh(Entry& e, const std::string& key) {
  if (e.refreshes_sent >= 4 || e.record.ttl == 0) {
    set_refresh(e, key, Clock::time_point::max());
    return;
  }
  // 80, 85, 90, 95 % of the TTL plus up to 2 % random jitter.
  const auto ttl = std::chrono::duration_cast<milliseconds>(std::chrono::seconds(e.record.ttl));
  const int percent = 80 + 5 * e.refreshes_sent;
  const double jitter = std::uniform_real_distribution<double>(0.0, 2.0)(rng_);
  set_refresh(e, key,
              e.received + milliseconds(static_cast<long>(static_cast<double>(ttl.count()) *
                                                          (percent + jitter) / 100.0)));
}

// ---- storing what arrives --------------------------------------------------------------

bool Browser::admit(const dns::Record& r, const NetInterface& iface) {
  const std::string name_key = dns::canonical_key(r.name);
  if (r.type == kPtr) {
    // A new instance only while there is room for one more peer.
    const auto instance = dns::canonical_key(std::get<dns::PtrData>(r.rdata).target);
    const bool known = ptrs_.contains(instance);
    if (cache_.size() < kMaxCachedRecords && (known || ptrs_.size() < kMaxPeers)) return true;
    if (!known) refused_instance_ = true;
    return false;
  }
  if (cache_.size() >= kMaxCachedRecords) return false;
  if (r.type == kSrv || r.type == kTxt) {
    // One of each per instance and interface: a newer one replaces the one held.
    for (const Entry* e : entries_named(name_key)) {
      if (e->ifindex == iface.index && e->record.type == r.type)
        erase(cache_.find(entry_key(e->ifindex, e->record)));
    }
    return true;
  }
  std::size_t held = 0;
  for (const Entry* e : entries_named(name_key))
    held += (e->ifindex == iface.index && is_address(e->record.type)) ? 1 : 0;
  return held < kMaxAddressesPerPeer;
}

void Browser::store(const dns::Record& rec, const NetInterface& iface, Clock::time_point now) {
  if (rec.rclass != dns::kClassIn) return;
  const std::string name_key = dns::canonical_key(rec.name);
  // Only records of lanspread instances the cache knows: the PTR first, then its SRV and
  // TXT, then the addresses an SRV names. Anything else on the link is none of our business.
  if (rec.type == kPtr) {
    if (name_key != service_key_ || !under(std::get<dns::PtrData>(rec.rdata).target, service_))
      return;
  } else if (rec.type == kSrv || rec.type == kTxt) {
    if (!under(rec.name, service_) || !ptrs_.contains(name_key)) return;
  } else if (is_address(rec.type)) {
    if (!srv_targets_.contains(name_key)) return;
  } else {
    return;
  }
  dns::Record r = rec;
  r.ttl = std::min(r.ttl, kMaxRecordTtl);  // a forged record cannot live for days
  const std::string key = entry_key(iface.index, r);
  auto it = cache_.find(key);
  if (r.ttl == 0) {
    // Goodbye: keep the record a moment in case another responder still holds it.
    if (it != cache_.end()) {
      Entry& e = it->second;
      set_expiry(e, key, std::min(e.expires, now + settings_.goodbye_grace));
      e.refreshes_sent = 4;
      set_refresh(e, key, Clock::time_point::max());
    }
    return;
  }
  if (r.cache_flush && is_address(r.type)) {
    // RFC 6762 §10.2: other addresses of this name received over a second ago get one more.
    for (const Entry* other : entries_named(name_key)) {
      if (other->ifindex != iface.index || other->record.type != r.type ||
          other->record.rdata == r.rdata || now - other->received <= std::chrono::seconds(1))
        continue;
      const std::string okey = entry_key(other->ifindex, other->record);
      Entry& o = cache_.at(okey);
      set_expiry(o, okey, std::min(o.expires, now + std::chrono::seconds(1)));
      o.refreshes_sent = 4;
      set_refresh(o, okey, Clock::time_point::max());
    }
  }
  if (it == cache_.end()) {
    if (!admit(r, iface)) {
      ++stats_.records_refused;
      return;
    }
    Entry e;
    e.record = r;
    e.name_key = name_key;
    e.ifindex = iface.index;
    e.ifname = iface.name;
    e.received = now;
    e.expires = now + std::chrono::seconds(r.ttl);
    it = insert(key, std::move(e));
  } else {
    Entry& e = it->second;
    e.record = r;
    e.received = now;
    set_expiry(e, key, now + std::chrono::seconds(r.ttl));
    touch(e);
  }
  it->second.refreshes_sent = 0;
  schedule_refresh(it->second, key);
}

std::vector<Event> Browser::on_response(const dns::Message& message, const NetInterface& iface,
                                        Clock::time_point now) {
  if (!message.is_response() || message.opcode() != 0) return {};
  // PTRs first, then SRV and TXT, then addresses: each kind is admitted only once what it
  // belongs to is known, whatever order the sender chose.
  auto pass = [&](auto&& accept) {
    for (const auto* section : {&message.answers, &message.authorities, &message.additionals}) {
      for (const auto& r : *section)
        if (accept(r.type)) store(r, iface, now);
    }
  };
  pass([](std::uint16_t t) { return t == kPtr; });
  pass([](std::uint16_t t) { return t == kSrv || t == kTxt; });
  pass([](std::uint16_t t) { return is_address(t); });
  return recompute();
}

// ---- peers from records ------------------------------------------------------------------

std::optional<Peer> Browser::assemble(const std::string& instance_key, bool& incomplete) {
  ++stats_.instances_assembled;
  incomplete = false;
  auto ptrs = ptrs_.find(instance_key);
  if (ptrs == ptrs_.end() || ignored(instance_key)) return std::nullopt;
  const Entry* srv = nullptr;
  const Entry* txt = nullptr;
  for (const Entry* e : entries_named(instance_key)) {
    if (e->record.type == kSrv && (!srv || e->received > srv->received)) srv = e;
    if (e->record.type == kTxt && (!txt || e->received > txt->received)) txt = e;
  }
  if (srv == nullptr || txt == nullptr) {
    incomplete = true;
    return std::nullopt;
  }
  const auto& srv_data = std::get<dns::SrvData>(srv->record.rdata);
  auto keys = parse_txt(std::get<dns::TxtData>(txt->record.rdata));
  auto id = keys.find("id");
  if (id == keys.end() || !usable_id(id->second) || id->second == self_id_) return std::nullopt;
  std::set<boost::asio::ip::address> addresses;
  for (const Entry* e : entries_named(dns::canonical_key(srv_data.target))) {
    if (const auto* a = std::get_if<dns::AData>(&e->record.rdata)) {
      addresses.insert(a->address);
    } else if (const auto* a6 = std::get_if<dns::AaaaData>(&e->record.rdata)) {
      auto v6 = a6->address;
      if (v6.is_link_local()) v6.scope_id(e->ifindex);  // meaningless without its interface
      addresses.insert(v6);
    }
  }
  if (addresses.empty()) {
    incomplete = true;
    return std::nullopt;
  }
  const Entry& ptr = cache_.at(*ptrs->second.begin());
  Peer peer;
  peer.id = id->second;
  peer.instance = std::get<dns::PtrData>(ptr.record.rdata).target.labels.front();
  peer.host = dns::to_string(srv_data.target);
  peer.port = srv_data.port;
  peer.txt = std::move(keys);
  for (const auto& key : ptrs->second) {
    const auto& ifname = cache_.at(key).ifname;
    if (std::find(peer.interfaces.begin(), peer.interfaces.end(), ifname) == peer.interfaces.end())
      peer.interfaces.push_back(ifname);
  }
  std::sort(peer.interfaces.begin(), peer.interfaces.end());
  for (const auto& a : addresses) {
    if (peer.addresses.size() >= kMaxAddressesPerPeer) break;
    peer.addresses.push_back(a);
  }
  return peer;
}

void Browser::set_pending(const std::string& instance_key, bool incomplete) {
  auto& per_if = resolving_[instance_key];
  std::set<unsigned> want;
  if (incomplete) {
    for (const auto& key : ptrs_.at(instance_key)) want.insert(cache_.at(key).ifindex);
  }
  for (auto it = per_if.begin(); it != per_if.end();) {
    if (want.contains(it->first)) {
      ++it;
      continue;
    }
    resolve_queue_.erase({it->second.next, instance_key, it->first});
    it = per_if.erase(it);
  }
  for (unsigned ifindex : want) {
    if (per_if.contains(ifindex)) continue;
    per_if[ifindex] = Pending{Clock::time_point::min(), milliseconds(0)};
    resolve_queue_.emplace(Clock::time_point::min(), instance_key, ifindex);
  }
  if (per_if.empty()) resolving_.erase(instance_key);
}

std::vector<Event> Browser::recompute() {
  std::vector<Event> lost;
  std::vector<Event> seen;
  const auto dirty = std::move(dirty_);
  dirty_.clear();
  for (const auto& instance : dirty) {
    bool incomplete = false;
    auto now_peer = assemble(instance, incomplete);
    set_pending(instance, incomplete);
    auto it = peers_.find(instance);
    if (!now_peer) {
      if (it == peers_.end()) continue;
      lost.push_back(PeerLost{it->second.id, it->second.instance});
      peers_.erase(it);
    } else if (it == peers_.end()) {
      seen.push_back(PeerSeen{*now_peer});
      peers_.emplace(instance, std::move(*now_peer));
    } else if (!(it->second == *now_peer)) {
      seen.push_back(PeerChanged{*now_peer});
      it->second = std::move(*now_peer);
    }
  }
  // Losses first: a peer that moved to a new instance name is lost and seen, in that order.
  lost.insert(lost.end(), std::make_move_iterator(seen.begin()),
              std::make_move_iterator(seen.end()));
  return lost;
}

// ---- queries -------------------------------------------------------------------------------

bool Browser::wanted(const Entry& e) const {
  // Refresh only records of other lanspread peers (not ours, not other hosts' addresses).
  if (e.record.type == kPtr)
    return !ignored(dns::canonical_key(std::get<dns::PtrData>(e.record.rdata).target));
  if (e.record.type == kSrv || e.record.type == kTxt)
    return ptrs_.contains(e.name_key) && !ignored(e.name_key);
  auto it = srv_targets_.find(e.name_key);
  if (it == srv_targets_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(), [&](const auto& kv) {
    return ptrs_.contains(kv.first) && !ignored(kv.first);
  });
}

dns::Message Browser::query_with_known_answers(std::vector<dns::Question> questions,
                                               unsigned ifindex, Clock::time_point now) const {
  dns::Message m;
  m.questions = std::move(questions);
  // RFC 6762 §7.1: list answers we hold with more than half their TTL left.
  for (const auto& q : m.questions) {
    auto named = by_name_.find(dns::canonical_key(q.name));
    if (named == by_name_.end()) continue;
    for (const auto& key : named->second) {
      const Entry& e = cache_.at(key);
      if (e.ifindex != ifindex || e.record.ttl == 0 || e.record.type != q.type) continue;
      const auto half = std::chrono::seconds(e.record.ttl) / 2;
      if (e.expires - now <= half) continue;
      auto r = e.record;
      r.ttl = static_cast<std::uint32_t>(
          std::chrono::duration_cast<std::chrono::seconds>(e.expires - now).count());
      r.cache_flush = false;
      m.answers.push_back(std::move(r));
      if (m.answers.size() >= 24) return m;  // stays well inside one packet
    }
  }
  return m;
}

Browser::Tick Browser::tick(Clock::time_point now, const std::vector<NetInterface>& interfaces) {
  Tick t;
  while (!expiries_.empty() && expiries_.begin()->first <= now)
    erase(cache_.find(expiries_.begin()->second));
  t.events = recompute();

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
  // Refresh queries for records about to expire, one per name, type and interface.
  std::set<std::string> asked;
  while (!refreshes_.empty() && refreshes_.begin()->first <= now) {
    const std::string key = refreshes_.begin()->second;
    Entry& e = cache_.at(key);
    ++e.refreshes_sent;
    schedule_refresh(e, key);
    if (!wanted(e)) continue;
    if (e.record.type == kPtr) {
      // Every peer's PTR has the same name: one refresh query per interface and second
      // serves them all (the answers come back together).
      auto [last, fresh] = ptr_refreshed_.try_emplace(e.ifindex, now);
      if (!fresh && now - last->second < kPtrRefreshSpacing) continue;
      last->second = now;
    }
    if (!asked
             .insert(std::to_string(e.ifindex) + '/' + e.name_key + '/' +
                     std::to_string(e.record.type))
             .second)
      continue;
    t.queries.push_back({e.ifindex, query_with_known_answers(
                                        {question(e.record.name, e.record.type)}, e.ifindex, now)});
  }
  // Instances known by PTR but missing SRV, TXT or addresses. Bounded per tick so a flood of
  // bare PTR records cannot turn into a query storm.
  for (std::size_t budget = kMaxResolveQueriesPerTick;
       budget > 0 && !resolve_queue_.empty() && std::get<0>(*resolve_queue_.begin()) <= now;
       --budget) {
    const auto [due, instance_key, ifindex] = *resolve_queue_.begin();
    resolve_queue_.erase(resolve_queue_.begin());
    Pending& pending = resolving_.at(instance_key).at(ifindex);
    const auto& instance =
        std::get<dns::PtrData>(cache_.at(*ptrs_.at(instance_key).begin()).record.rdata).target;
    std::vector<dns::Question> qs{question(instance, kSrv), question(instance, kTxt)};
    for (const Entry* e : entries_named(instance_key)) {
      if (e->record.type != kSrv) continue;
      const auto& target = std::get<dns::SrvData>(e->record.rdata).target;
      qs.push_back(question(target, kA));
      qs.push_back(question(target, kAaaa));
      break;
    }
    t.queries.push_back({ifindex, query_with_known_answers(std::move(qs), ifindex, now)});
    pending.interval = pending.interval.count() == 0
                           ? settings_.query_initial_interval
                           : std::min(pending.interval * 2, settings_.query_max_interval);
    pending.next = now + pending.interval;
    resolve_queue_.emplace(pending.next, instance_key, ifindex);
  }

  std::optional<Clock::time_point> next = next_ptr_query_;
  auto consider = [&](Clock::time_point tp) {
    if (!next || tp < *next) next = tp;
  };
  if (!expiries_.empty()) consider(expiries_.begin()->first);
  if (!refreshes_.empty()) consider(refreshes_.begin()->first);
  if (!resolve_queue_.empty()) consider(std::get<0>(*resolve_queue_.begin()));
  t.next = next;
  return t;
}

std::vector<Event> Browser::drop_interface(unsigned ifindex) {
  for (auto it = cache_.begin(); it != cache_.end();) {
    auto next = std::next(it);
    if (it->second.ifindex == ifindex) erase(it);
    it = next;
  }
  return recompute();
}

std::vector<Peer> Browser::peers() const {
  std::vector<Peer> out;
  for (const auto& [k, p] : peers_) out.push_back(p);
  return out;
}

}  // namespace lanspread::discovery
