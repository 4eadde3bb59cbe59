// Bytes that crossed the network to and from each peer, and their rates over the last few
// seconds: what the Peers view shows as "current transfer rates". Counted where payload
// bytes are read from or written to a peer's stream (game server, download requests).
//
// Bounded: at most `max_peers` peers are tracked; when a new one arrives the peer that was
// idle longest is forgotten. Thread-safe (a mutex; the network thread is the only writer).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace lanspread::runtime {

class TrafficMeter {
 public:
  using Clock = std::chrono::steady_clock;

  struct Rates {
    std::uint64_t bytes_in = 0;   // received from the peer since start
    std::uint64_t bytes_out = 0;  // sent to the peer since start
    double bytes_per_second_in = 0;
    double bytes_per_second_out = 0;
  };

  // The rate is the average over the last `window_seconds` whole seconds (the second under
  // way is not yet counted, so the figure does not dip at each second's start).
  static constexpr int kWindowSeconds = 3;

  explicit TrafficMeter(std::size_t max_peers = 1024) : max_peers_(max_peers) {}

  void add_received(const std::string& peer_id, std::uint64_t bytes, Clock::time_point now);
  void add_sent(const std::string& peer_id, std::uint64_t bytes, Clock::time_point now);
  Rates rates(const std::string& peer_id, Clock::time_point now) const;
  std::size_t tracked() const;

 private:
  // One slot per second, indexed by (second % kSlots); `second[i]` says which second slot i
  // holds, so stale slots read as zero.
  static constexpr int kSlots = kWindowSeconds + 1;
  struct Direction {
    std::uint64_t total = 0;
    std::int64_t second[kSlots] = {-1, -1, -1, -1};
    std::uint64_t bytes[kSlots] = {};
    void add(std::uint64_t n, std::int64_t now_s);
    double rate(std::int64_t now_s) const;
  };
  struct Peer {
    Direction in, out;
    std::int64_t last_active_s = 0;
  };

  Peer& peer(const std::string& id, std::int64_t now_s);
  void add(Direction Peer::*direction, const std::string& peer_id, std::uint64_t bytes,
           Clock::time_point now);
  static std::int64_t seconds(Clock::time_point t);

  std::size_t max_peers_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Peer> peers_;
};

}  // namespace lanspread::runtime
