#include "transfer/download_progress.hpp"

#include <algorithm>

namespace lanspread::transfer {

const char* to_string(DownloadPhase p) noexcept {
  switch (p) {
    case DownloadPhase::checking:
      return "checking";
    case DownloadPhase::downloading:
      return "downloading";
    case DownloadPhase::committing:
      return "committing";
    case DownloadPhase::waiting_for_peers:
      return "waiting_for_peers";
  }
  return "downloading";
}

void RateMeter::add(Clock::time_point now, std::uint64_t bytes) {
  if (bytes == 0) return;
  if (!first_) first_ = now;
  total_ += bytes;
  if (buckets_.empty() || now - buckets_.back().first >= bucket_) {
    buckets_.emplace_back(now, bytes);
  } else {
    buckets_.back().second += bytes;
  }
  trim(now);
}

void RateMeter::trim(Clock::time_point now) {
  while (!buckets_.empty() && now - buckets_.front().first >= window_) buckets_.pop_front();
}

std::uint64_t RateMeter::rate(Clock::time_point now) {
  trim(now);
  if (!first_ || buckets_.empty()) return 0;
  std::uint64_t sum = 0;
  for (const auto& [start, bytes] : buckets_) sum += bytes;
  const auto span = std::clamp<Clock::duration>(now - *first_, bucket_, window_);
  return static_cast<std::uint64_t>(static_cast<double>(sum) /
                                    std::chrono::duration<double>(span).count());
}

}  // namespace lanspread::transfer
