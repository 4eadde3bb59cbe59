#include "transport/budget.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace lanspread::transport {

Host Host::of(const Address& a) {
  Host h;
  if (a.storage.ss_family == AF_INET) {
    const auto* in = reinterpret_cast<const sockaddr_in*>(&a.storage);
    h.bytes[10] = 0xff;
    h.bytes[11] = 0xff;
    std::memcpy(h.bytes.data() + 12, &in->sin_addr, 4);
  } else if (a.storage.ss_family == AF_INET6) {
    const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a.storage);
    std::memcpy(h.bytes.data(), &in6->sin6_addr, 16);
  }
  return h;
}

// ---- SendBudget ---------------------------------------------------------------------------

std::uint64_t SendBudget::grant(const Host& host, std::uint64_t want) {
  if (want == 0) return 0;
  const std::uint64_t n = std::min(room_for(host), want);
  if (n < want) refused_ = true;
  if (n == 0) return 0;
  used_ += n;
  by_host_[host] += n;
  return n;
}

void SendBudget::release(const Host& host, std::uint64_t bytes) {
  if (bytes == 0) return;
  auto it = by_host_.find(host);
  if (it == by_host_.end()) return;
  bytes = std::min(bytes, it->second);
  it->second -= bytes;
  used_ -= bytes;
  if (it->second == 0) by_host_.erase(it);
  if (refused_) released_ = true;
}

std::uint64_t SendBudget::room_for(const Host& host) const {
  const std::uint64_t mine = used_by(host);
  return std::min(total_ > used_ ? total_ - used_ : 0, per_host_ > mine ? per_host_ - mine : 0);
}

std::uint64_t SendBudget::used_by(const Host& host) const {
  auto it = by_host_.find(host);
  return it == by_host_.end() ? 0 : it->second;
}

// ---- ConnectionSlots ----------------------------------------------------------------------

std::size_t ConnectionSlots::incoming_from(const Host& host) const {
  auto it = incoming_by_host_.find(host);
  return it == incoming_by_host_.end() ? 0 : it->second;
}

bool ConnectionSlots::protected_peer(const Entry& e) const {
  return e.proven && dialled_peers_.contains(e.peer_id);
}

ConnectionSlots::Decision ConnectionSlots::admit_incoming(const Host& host) const {
  const std::size_t mine = incoming_from(host);
  if (mine >= per_host_) return {};
  if (incoming_ < max_incoming_) return {true, nullptr};
  // Full. The address holding the most slots gives one up, if it holds more than the
  // newcomer's address would after admission: an unproven connection first (the newest),
  // else the newest proven one that is not a peer we dialled.
  std::size_t most = 0;
  for (const auto& [h, n] : incoming_by_host_) most = std::max(most, n);
  if (most <= mine + 1) return {};
  const Entry* unproven = nullptr;
  const Entry* proven = nullptr;
  Key unproven_key = nullptr;
  Key proven_key = nullptr;
  for (const auto& [key, e] : entries_) {
    if (!e.incoming || incoming_from(e.host) != most) continue;
    if (!e.proven) {
      if (unproven == nullptr || e.seq > unproven->seq) {
        unproven = &e;
        unproven_key = key;
      }
    } else if (!protected_peer(e) && (proven == nullptr || e.seq > proven->seq)) {
      proven = &e;
      proven_key = key;
    }
  }
  if (unproven_key != nullptr) return {true, unproven_key};
  if (proven_key != nullptr) return {true, proven_key};
  return {};
}

void ConnectionSlots::add(Key key, const Host& host, bool incoming) {
  auto [it, inserted] = entries_.try_emplace(key);
  if (!inserted) return;
  it->second.host = host;
  it->second.seq = next_seq_++;
  it->second.incoming = incoming;
  if (incoming) {
    ++incoming_;
    ++incoming_by_host_[host];
  } else {
    ++outgoing_;
  }
}

void ConnectionSlots::proven(Key key, const std::string& peer_id) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.proven) return;
  it->second.proven = true;
  it->second.peer_id = peer_id;
  if (!it->second.incoming) dialled_peers_.insert(peer_id);
}

void ConnectionSlots::remove(Key key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  const Entry& e = it->second;
  if (e.incoming) {
    --incoming_;
    auto h = incoming_by_host_.find(e.host);
    if (h != incoming_by_host_.end() && --h->second == 0) incoming_by_host_.erase(h);
  } else {
    --outgoing_;
    if (e.proven) {
      if (auto p = dialled_peers_.find(e.peer_id); p != dialled_peers_.end())
        dialled_peers_.erase(p);
    }
  }
  entries_.erase(it);
}

}  // namespace lanspread::transport
