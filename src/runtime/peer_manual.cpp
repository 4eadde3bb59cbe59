// Manual peers: addresses a local user named (serve --peer, POST /api/v1/peers). Each is a
// candidate in the DialPlanner under the key "manual:host:port" until a handshake proves an
// id; that id is then known like an announced peer. The same dialling discipline applies
// (slots, backoff, no privileged ports), except that a loopback address may be named.
#include "runtime/peer_runtime_impl.hpp"

#include <boost/asio/ip/udp.hpp>

namespace lanspread::runtime {
namespace {

// A name that does not resolve (or an address that cannot be dialled) is tried again this
// often; resolution itself is given this long.
constexpr auto kResolveRetry = std::chrono::seconds(30);
constexpr auto kResolveTimeout = std::chrono::seconds(5);

transport::Address address_of(const boost::asio::ip::udp::endpoint& ep) {
  return transport::Address::from(ep.data(), static_cast<socklen_t>(ep.size()));
}

}  // namespace

bool PeerRuntime::is_manual_peer(const std::string& id) const {
  return std::any_of(manual_.begin(), manual_.end(),
                     [&](const auto& kv) { return kv.second.peer_id == id; });
}

void PeerRuntime::add_manual(const std::string& text, bool persist) {
  std::string why;
  auto parsed = parse_manual_address(text, config_.limits.min_port, why);
  if (!parsed) {
    emit(ManualPeerRefused{text, why});
    return;
  }
  const std::string key = parsed->text();
  if (auto it = manual_.find(key); it != manual_.end()) {
    if (persist && !it->second.persisted) {
      it->second.persisted = true;
      save_manual();
    }
    return;
  }
  if (manual_.size() >= config_.limits.max_manual_peers) {
    emit(ManualPeerRefused{key, "at most " + std::to_string(config_.limits.max_manual_peers) +
                                    " manual peers; remove one first"});
    return;
  }
  ManualEntry e;
  e.address = *parsed;
  e.pseudo = "manual:" + key;
  e.persisted = persist;
  manual_.emplace(key, std::move(e));
  emit_manual();
  if (persist) save_manual();
  resolve_manual(key);
}

void PeerRuntime::remove_manual(const std::string& text) {
  std::string why;
  auto parsed = parse_manual_address(text, 0, why);
  auto it = manual_.find(parsed ? parsed->text() : text);
  if (it == manual_.end()) {
    emit(ManualPeerRefused{text, "not a manual peer"});
    return;
  }
  ManualEntry e = std::move(it->second);
  manual_.erase(it);
  dials_.forget(e.pseudo);
  if (!e.peer_id.empty() && !from_mdns_.contains(e.peer_id) && !is_manual_peer(e.peer_id)) {
    // Known only through this address: forgotten with it.
    dials_.forget(e.peer_id);
    announced_.erase(e.peer_id);
    if (auto l = links_.find(e.peer_id); l != links_.end()) {
      auto c = l->second.lock();
      links_.erase(l);
      if (c) c->close();
    }
    on_lost(e.peer_id, "removed by the user");
  }
  emit_manual();
  if (e.persisted) save_manual();
  pump_dials();
}

void PeerRuntime::resolve_manual(const std::string& key) {
  auto it = manual_.find(key);
  if (it == manual_.end() || it->second.resolving || stopping_) return;
  ManualEntry& e = it->second;
  e.resolving = true;
  e.next_resolve = Clock::now() + kResolveRetry;
  auto resolver = std::make_shared<asio::ip::udp::resolver>(io_);
  auto deadline = std::make_shared<asio::steady_timer>(io_, kResolveTimeout);
  deadline->async_wait([resolver](const boost::system::error_code& ec) {
    if (!ec) resolver->cancel();
  });
  resolver->async_resolve(
      e.address.host, std::to_string(e.address.port), asio::ip::resolver_base::numeric_service,
      [self = shared_from_this(), key, resolver, deadline](
          const boost::system::error_code& ec, asio::ip::udp::resolver::results_type results) {
        deadline->cancel();
        auto it = self->manual_.find(key);
        if (it == self->manual_.end() || self->stopping_) return;
        ManualEntry& e = it->second;
        e.resolving = false;
        if (ec) {
          self->emit(ManualPeerRefused{key, "cannot resolve " + e.address.host + ": " +
                                                ec.message() + "; trying again in 30 s"});
          return;
        }
        std::vector<transport::Address> addresses;
        for (const auto& r : results) addresses.push_back(address_of(r.endpoint()));
        const auto admission = self->dials_.offer(e.pseudo, addresses, false, Clock::now());
        if (admission == DialPlanner::Admission::no_usable_address) {
          self->emit(ManualPeerRefused{key, e.address.host +
                                                " has no address that can be dialled (unspecified, "
                                                "multicast or broadcast); trying again in 30 s"});
          return;
        }
        if (admission == DialPlanner::Admission::full) return;  // tried again later
        e.offered = true;
        if (!e.peer_id.empty() && self->peers_.peer(e.peer_id) != nullptr)
          self->dials_.set_verified(e.pseudo, true);
        self->pump_dials();
      });
}

void PeerRuntime::resolve_due_manual() {
  const auto now = Clock::now();
  std::vector<std::string> due;
  for (auto& [key, e] : manual_) {
    // The planner may have let the candidate go (full table): offered again.
    if (e.offered && !dials_.knows(e.pseudo)) e.offered = false;
    if (!e.offered && !e.resolving && now >= e.next_resolve) due.push_back(key);
  }
  for (const auto& key : due) resolve_manual(key);
}

std::string PeerRuntime::adopt_manual(const std::string& pseudo,
                                      const std::shared_ptr<transport::Connection>& conn) {
  auto it = std::find_if(manual_.begin(), manual_.end(),
                         [&](const auto& kv) { return kv.second.pseudo == pseudo; });
  if (it == manual_.end()) return {};  // removed meanwhile
  ManualEntry& e = it->second;
  const std::string id = conn->peer_id();
  // Not dialled again while the peer it reached is listed (on_lost re-enables it).
  dials_.set_verified(pseudo, true);
  if (id == peer_id_) {
    emit(ManualPeerRefused{it->first, "that address is this peer"});
    conn->close();
    return {};
  }
  if (e.peer_id != id) {
    e.peer_id = id;
    emit_manual();
  }
  // Known from now on like an announced peer, at the address that answered.
  if (!announced_.contains(id)) {
    DiscoveredPeer d{id, it->first, {conn->remote()}, 0};
    on_seen(d, false);
    announced_.try_emplace(id, d);  // also when the planner had no room for it
  }
  if (auto l = links_.find(id);
      l == links_.end() || !l->second.lock() || !l->second.lock()->is_open()) {
    links_[id] = conn;
    asio::co_spawn(io_, watch_link(id, conn), asio::detached);
  }
  return id;
}

void PeerRuntime::emit_manual() {
  ManualPeers out;
  for (const auto& [key, e] : manual_) out.peers.push_back({key, e.peer_id});
  emit(std::move(out));
}

void PeerRuntime::save_manual() {
  if (!config_.manual_store) return;
  std::vector<std::string> list;
  for (const auto& [key, e] : manual_) {
    if (e.persisted) list.push_back(key);
  }
  // On the disk pool, in order (a strand), so the last change is the one on disk.
  asio::post(store_strand_, [store = config_.manual_store, list = std::move(list),
                             weak = weak_from_this()] {
    auto ok = store->save(list);
    if (ok) return;
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->io_, [self, message = ok.error().message()] {
      self->emit(RuntimeFailure{"manual peers", "cannot store the manual peers: " + message});
    });
  });
}

}  // namespace lanspread::runtime
