// Discovered peers, dialling and verification (the PeerRuntime members that talk to the
// DialPlanner). An announcement makes a peer a candidate; it is listed only once a handshake
// proved its id and it answered a Ping. Every outgoing handshake waits for a slot the
// planner grants, so a flood of announcements costs a bounded number of dials.
#include "runtime/peer_name.hpp"
#include "runtime/peer_runtime_impl.hpp"

#include <arpa/inet.h>

namespace lanspread::runtime {
namespace {

// The IP address of `a` as text, without port or scope.
std::string host_of(const transport::Address& a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.storage.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&a.storage)->sin_addr, text,
                sizeof text);
  } else if (a.storage.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&a.storage)->sin6_addr, text,
                sizeof text);
  }
  return text;
}

}  // namespace

void PeerRuntime::on_seen(const DiscoveredPeer& raw, bool announced) {
  if (raw.id == peer_id_ || stopping_) return;
  // Its name is a stranger's text: made safe here, before any log, event or the API sees it.
  DiscoveredPeer d = raw;
  d.name = sanitize_peer_name(raw.name);
  const auto admission = dials_.offer(d.id, d.addresses, announced, Clock::now());
  if (admission == DialPlanner::Admission::no_usable_address ||
      admission == DialPlanner::Admission::full) {
    return;  // nothing we may dial, or no room: it stays unknown
  }
  announced_[d.id] = d;
  if (announced) from_mdns_.insert(d.id);
  // A newcomer may have replaced a failing candidate in the planner: forget that one here too.
  if (announced_.size() > dials_.peer_count()) {
    std::erase_if(announced_, [&](const auto& kv) { return !dials_.knows(kv.first); });
    std::erase_if(parked_, [&](const std::string& id) { return !dials_.knows(id); });
  }
  if (const PeerInfo* p = peers_.peer(d.id)) {
    // Listed already: follow its announcement (name, addresses, library revision).
    PeerInfo info = *p;
    info.name = d.name;
    info.addresses = dials_.addresses(d.id);
    info.library_rev = d.rev;
    info.last_seen = Clock::now();
    peers_.upsert_peer(info);
    maybe_refresh(d.id);
  }
  pump_dials();
}

void PeerRuntime::on_unannounced(const std::string& id) {
  from_mdns_.erase(id);
  dials_.forget(id);
  announced_.erase(id);
  parked_.erase(id);
  links_.erase(id);
  on_lost(id, "said goodbye or expired");
  pump_dials();
}

void PeerRuntime::on_verified(const std::string& id, std::uint64_t rev,
                              const transport::Address& from) {
  auto a = announced_.find(id);
  if (a == announced_.end() || stopping_) return;  // forgotten meanwhile
  PeerInfo info;
  info.peer_id = id;
  info.name = a->second.name;
  info.addresses = dials_.addresses(id);
  info.host = host_of(from);
  if (info.addresses.empty()) info.addresses = a->second.addresses;
  info.library_rev = rev;
  info.last_seen = Clock::now();
  std::string evicted;
  const bool fresh = peers_.upsert_peer(info, &evicted);
  // Verified either way: a peer the table (or its host's share) has no room for is parked,
  // not probed again, until a listed peer leaves.
  dials_.set_verified(id, true);
  if (peers_.peer(id) == nullptr) {
    parked_.insert(id);
    links_.erase(id);
    return;
  }
  parked_.erase(id);
  if (!evicted.empty()) {
    parked_.insert(evicted);  // stays verified in the planner: not probed again at once
    links_.erase(evicted);
    failures_.erase(evicted);
    withdraw_from_downloads(evicted);
    emit(PeerLeft{evicted, "evicted: the peer table is full and it offers no game"});
  }
  failures_[id] = 0;
  note_answer(id);
  if (fresh) {
    emit(PeerJoined{view_of(info)});
    emit(PeerCount{peers_.peer_count()});
  }
  maybe_refresh(id);
}

void PeerRuntime::unpark() {
  if (parked_.empty() || peers_.peer_count() >= config_.limits.max_peers) return;
  for (const auto& id : parked_) dials_.set_verified(id, false);
  parked_.clear();
  pump_dials();
}

void PeerRuntime::maybe_refresh(const std::string& id) {
  if (busy_.contains(id) ||
      !peers_.needs_refresh(id, Clock::now(), config_.limits.min_refresh_interval))
    return;
  busy_.insert(id);
  asio::co_spawn(
      io_,
      [self = shared_from_this(), id]() -> awaitable<void> {
        co_await self->refresh(id);
        self->busy_.erase(id);
      },
      asio::detached);
}

awaitable<void> PeerRuntime::probe(std::string id) {
  auto conn = co_await connect(id);
  if (conn && !stopping_) {
    // A manual address: the peer is whoever proved an id in the handshake.
    const std::string peer = is_manual_key(id) ? adopt_manual(id, *conn) : id;
    if (!peer.empty()) {
      auto pong = co_await request(*conn, proto::Ping{}, config_.ping_timeout);
      if (pong && std::holds_alternative<proto::Pong>(*pong))
        on_verified(peer, std::get<proto::Pong>(*pong).library_rev, (*conn)->remote());
    }
  }
  dials_.probe_done(id);
  pump_dials();
}

void PeerRuntime::pump_dials() {
  if (stopping_) return;
  const auto now = Clock::now();
  for (const auto& attempt : dials_.grant(now)) {
    if (auto it = dial_waiters_.find(attempt.ticket); it != dial_waiters_.end())
      it->second->notify();
  }
  for (auto& id : dials_.due_probes(now, dials_.free_slots()))
    asio::co_spawn(io_, probe(std::move(id)), asio::detached);
  // Wake up when the next retry falls due (dials that end wake us anyway).
  const auto next = dials_.next_probe();
  if (!next || *next <= now || next == probe_timer_at_) return;
  probe_timer_at_ = next;
  probe_timer_.expires_at(*next);
  probe_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self) return;
    self->probe_timer_at_.reset();
    self->pump_dials();
  });
}

awaitable<boost::system::result<std::shared_ptr<transport::Connection>>> PeerRuntime::connect(
    std::string id) {
  auto open = [&]() -> std::shared_ptr<transport::Connection> {
    auto it = links_.find(id);
    if (it == links_.end()) return nullptr;
    if (auto c = it->second.lock(); c && c->is_open()) return c;
    links_.erase(it);
    return nullptr;
  };
  if (auto c = open()) co_return c;
  const auto ticket = dials_.request(id, Clock::now());
  if (!ticket) {
    co_return make_error_code(dials_.knows(id) ? errc::backing_off : errc::peer_gone);
  }
  auto wake = std::make_shared<transport::Signal>(io_.get_executor());
  dial_waiters_.emplace(*ticket, wake);
  pump_dials();
  boost::system::error_code last = make_error_code(errc::backing_off);
  std::shared_ptr<transport::Connection> got;
  while (!stopping_) {
    if ((got = open())) break;  // another dial to this peer got through meanwhile
    const DialPlanner::Attempt* attempt = dials_.granted(*ticket);
    if (attempt == nullptr) {
      if (dials_.exhausted(*ticket, Clock::now())) break;
      co_await wake->wait();
      continue;
    }
    const transport::Address address = attempt->address;
    // A manual address is dialled without knowing whose it is (any certificate; the id it
    // proves is recorded by adopt_manual()).
    auto c = co_await endpoint_->dial(address, is_manual_key(id) ? std::string() : id);
    // A wrong identity counts as no answer: the address is not the peer it claims to be.
    dials_.finished(*ticket, c.has_value(), Clock::now());
    if (c) {
      got = *c;
      if (!is_manual_key(id)) {
        links_[id] = got;
        asio::co_spawn(io_, watch_link(id, got), asio::detached);
      }
      break;
    }
    last = c.error();
    pump_dials();
  }
  dial_waiters_.erase(*ticket);
  dials_.close(*ticket);
  pump_dials();
  if (got) co_return got;
  co_return stopping_ ? make_error_code(errc::shutting_down) : last;
}

}  // namespace lanspread::runtime
