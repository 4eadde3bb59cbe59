// What a download reports about itself, and the moving average behind its speed. Pure data,
// no clock of its own (the caller passes the time).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace lanspread::transfer {

using Clock = std::chrono::steady_clock;

enum class DownloadPhase {
  checking,     // hashing what is already on disk (resume, delta)
  downloading,  // fetching chunks
  committing,   // fetching version.ini, syncing the files, committing the sentinel
  // No usable source is left: waiting (DownloadSettings::peer_wait at most) for one to join
  // or come back; then back to downloading or committing.
  waiting_for_peers,
};
const char* to_string(DownloadPhase p) noexcept;

struct DownloadProgress {
  DownloadPhase phase = DownloadPhase::checking;
  // checking: bytes checked of the bytes to check. Otherwise: bytes received (chunks already
  // right on disk, verified chunks and the bytes of chunks still arriving) of the game's size.
  // `done` steps back when a request fails and its partial chunk is thrown away.
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  std::uint64_t verified = 0;          // bytes verified (including chunks already right on disk)
  std::uint64_t bytes_per_second = 0;  // network bytes, averaged over the speed window
  std::optional<std::uint64_t> eta_seconds;  // null until data has arrived for the warm-up
  std::uint64_t stalled_seconds = 0;         // since the last byte arrived (while downloading)
  std::size_t active_peers = 0;              // peers with a request in flight
};

// Bytes per second over a sliding window, from bytes counted into short buckets. Bounded:
// window / bucket entries.
class RateMeter {
 public:
  explicit RateMeter(Clock::duration window,
                     Clock::duration bucket = std::chrono::milliseconds(100))
      : window_(window), bucket_(bucket) {}

  void add(Clock::time_point now, std::uint64_t bytes);
  // Average over the window, or over the time since the first byte when that is shorter
  // (at least one bucket).
  std::uint64_t rate(Clock::time_point now);
  std::uint64_t total() const { return total_; }
  std::optional<Clock::time_point> first() const { return first_; }

 private:
  void trim(Clock::time_point now);
  Clock::duration window_;
  Clock::duration bucket_;
  std::deque<std::pair<Clock::time_point, std::uint64_t>> buckets_;  // start, bytes
  std::uint64_t total_ = 0;
  std::optional<Clock::time_point> first_;
};

}  // namespace lanspread::transfer
