#include "runtime/traffic_meter.hpp"

#include <algorithm>

namespace lanspread::runtime {

std::int64_t TrafficMeter::seconds(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

void TrafficMeter::Direction::add(std::uint64_t n, std::int64_t now_s) {
  total += n;
  const auto i = static_cast<std::size_t>(now_s % kSlots);
  if (second[i] != now_s) {
    second[i] = now_s;
    bytes[i] = 0;
  }
  bytes[i] += n;
}

double TrafficMeter::Direction::rate(std::int64_t now_s) const {
  std::uint64_t sum = 0;
  for (int i = 0; i < kSlots; ++i) {
    if (second[i] < now_s && second[i] >= now_s - kWindowSeconds) sum += bytes[i];
  }
  return static_cast<double>(sum) / kWindowSeconds;
}

TrafficMeter::Peer& TrafficMeter::peer(const std::string& id, std::int64_t now_s) {
  auto it = peers_.find(id);
  if (it == peers_.end()) {
    if (peers_.size() >= max_peers_ && !peers_.empty()) {
      auto idle = std::min_element(peers_.begin(), peers_.end(), [](const auto& a, const auto& b) {
        return a.second.last_active_s < b.second.last_active_s;
      });
      peers_.erase(idle);
    }
    it = peers_.emplace(id, Peer{}).first;
  }
  it->second.last_active_s = now_s;
  return it->second;
}

void TrafficMeter::add(Direction Peer::*direction, const std::string& peer_id, std::uint64_t bytes,
                       Clock::time_point now) {
  if (bytes == 0 || max_peers_ == 0) return;
  const auto s = seconds(now);
  std::lock_guard lock(mutex_);
  (peer(peer_id, s).*direction).add(bytes, s);
}

void TrafficMeter::add_received(const std::string& peer_id, std::uint64_t bytes,
                                Clock::time_point now) {
  add(&Peer::in, peer_id, bytes, now);
}

void TrafficMeter::add_sent(const std::string& peer_id, std::uint64_t bytes,
                            Clock::time_point now) {
  add(&Peer::out, peer_id, bytes, now);
}

TrafficMeter::Rates TrafficMeter::rates(const std::string& peer_id, Clock::time_point now) const {
  std::lock_guard lock(mutex_);
  auto it = peers_.find(peer_id);
  if (it == peers_.end()) return {};
  const auto s = seconds(now);
  return Rates{it->second.in.total, it->second.out.total, it->second.in.rate(s),
               it->second.out.rate(s)};
}

std::size_t TrafficMeter::tracked() const {
  std::lock_guard lock(mutex_);
  return peers_.size();
}

}  // namespace lanspread::runtime
