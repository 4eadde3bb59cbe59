#include "transfer/spread_ledger.hpp"

#include <algorithm>

namespace lanspread::transfer {

void SpreadLedger::expire(Clock::time_point now) {
  std::erase_if(waiting_, [&](const auto& w) { return w.second + limits_.waiting <= now; });
  while (!order_.empty() && (order_.front().first <= now || recent_.size() > limits_.max_recent ||
                             order_.size() > 2 * limits_.max_recent)) {
    auto it = recent_.find(order_.front().second);
    // Only the entry this record was made for (a later send of the key renewed it).
    if (it != recent_.end() && it->second.until == order_.front().first) recent_.erase(it);
    order_.pop_front();
  }
}

std::size_t SpreadLedger::uploads_of(const std::string& client) const {
  std::size_t n = 0;
  for (const auto& [t, u] : uploads_) n += u.client == client ? 1 : 0;
  return n;
}

SpreadLedger::Verdict SpreadLedger::admit(const std::string& key, const std::string& client,
                                          Clock::time_point now, Ticket& ticket, bool distinct) {
  expire(now);
  bool mine = false;
  for (auto [it, end] = sending_.equal_range(key); it != end; ++it) {
    if (it->second != client && distinct) return Verdict::duplicate;
    mine = mine || it->second == client;
  }
  if (auto r = recent_.find(key); distinct && r != recent_.end() && r->second.client != client)
    return Verdict::duplicate;
  if (!mine) {
    // A turn is kept for each other client that waits for one (it was declined for room while
    // it got nothing from us); a waiting client takes any free turn.
    const std::size_t own = uploads_of(client);
    const bool waits = waiting_.contains(client) && own == 0;
    const auto others = static_cast<std::size_t>(std::count_if(
        waiting_.begin(), waiting_.end(), [&](const auto& w) { return w.first != client; }));
    // The cap per client holds only while another client gets or waits for a chunk: a
    // client alone may use every turn (a lone downloader keeps its requests pipelined).
    const bool shared = uploads_.size() > own || others > 0;
    if (uploads_.size() + (waits ? 0 : others) >= limits_.max_uploads ||
        (shared && own >= limits_.max_uploads_per_client)) {
      if (own == 0) {
        if (!waiting_.contains(client) && waiting_.size() >= limits_.max_waiting) {
          // Forget the longest waiting to make room.
          waiting_.erase(
              std::min_element(waiting_.begin(), waiting_.end(),
                               [](const auto& a, const auto& b) { return a.second < b.second; }));
        }
        waiting_[client] = now;
      }
      return Verdict::full;
    }
  }
  waiting_.erase(client);
  ticket = next_++;
  uploads_.emplace(ticket, Upload{key, client});
  sending_.emplace(key, client);
  return Verdict::serve;
}

void SpreadLedger::finished(Ticket ticket, bool whole, Clock::time_point now) {
  auto it = uploads_.find(ticket);
  if (it == uploads_.end()) return;
  const Upload u = std::move(it->second);
  uploads_.erase(it);
  for (auto [s, end] = sending_.equal_range(u.key); s != end; ++s) {
    if (s->second == u.client) {
      sending_.erase(s);
      break;
    }
  }
  if (whole && limits_.recent.count() > 0) {
    const auto until = now + limits_.recent;
    recent_[u.key] = Recent{u.client, until};
    order_.emplace_back(until, u.key);
  }
  expire(now);
}

}  // namespace lanspread::transfer
