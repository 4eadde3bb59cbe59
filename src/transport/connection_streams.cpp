// ConnectionCore's stream API: opening, writing into and reading from streams, resets.
#include "transport/connection_core.hpp"

#include "transport/stream_state.hpp"

#include <ngtcp2/ngtcp2.h>

#include <algorithm>

namespace lanspread::transport {

// ---- streams ----------------------------------------------------------------------------

StreamState* ConnectionCore::find(std::int64_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

const StreamState* ConnectionCore::find(std::int64_t id) const {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

StreamState& ConnectionCore::add_stream(std::int64_t id) {
  auto& slot = streams_[id];
  if (!slot) {
    slot = std::make_unique<StreamState>(id, pool_);
    slot->progress = last_now_;
    if (ngtcp2_is_bidi_stream(id)) {
      ++app_streams_;
      last_used_ = last_now_;
    }
  }
  return *slot;
}

void ConnectionCore::erase_stream(std::int64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  uncharge_all(*it->second);
  if (ngtcp2_is_bidi_stream(id)) {
    --app_streams_;
    last_used_ = last_now_;
  }
  streams_.erase(it);
}

std::uint64_t ConnectionCore::charge(StreamState& s, std::uint64_t want) {
  const std::uint64_t granted = budget_ ? budget_->grant(host_, want) : want;
  s.charged += granted;
  if (granted > 0) s.progress = last_now_;
  return granted;
}

void ConnectionCore::uncharge_sent(StreamState& s, std::uint64_t bytes) {
  bytes = std::min(bytes, s.charged - s.reserved);
  s.charged -= bytes;
  if (budget_) budget_->release(host_, bytes);
}

void ConnectionCore::uncharge_all(StreamState& s) {
  if (budget_) budget_->release(host_, s.charged);
  s.charged = 0;
  s.reserved = 0;
}

bool ConnectionCore::wake_budget_waiters(bool* left) {
  bool any = false;
  const bool room = budget_ == nullptr || budget_->room_for(host_) > 0;
  for (auto& [id, s] : streams_) {
    if (!s->budget_blocked) continue;
    if (!room) {
      *left = true;
      return false;
    }
    s->budget_blocked = false;
    s->writer_waiting = false;
    events_.push_back({CoreEvent::stream_writable, id});
    any = true;
  }
  return any;
}

void ConnectionCore::schedule_send(StreamState& s) {
  if (s.queued || !s.has_pending_send()) return;
  s.queued = true;
  if (s.sequential) {
    sequential_queue_.insert(s.id);
  } else {
    send_queue_.push_back(s.id);
  }
}

StreamState* ConnectionCore::next_sender() {
  while (!send_queue_.empty()) {
    StreamState* s = find(send_queue_.front());
    if (s != nullptr && s->has_pending_send() && !s->sequential) return s;
    send_queue_.pop_front();
    if (s == nullptr) continue;
    if (s->has_pending_send()) {
      sequential_queue_.insert(s->id);  // became sequential while it waited here
    } else {
      s->queued = false;
    }
  }
  while (!sequential_queue_.empty()) {
    StreamState* s = find(*sequential_queue_.begin());
    if (s != nullptr && s->has_pending_send()) return s;
    if (s != nullptr) s->queued = false;
    sequential_queue_.erase(sequential_queue_.begin());
  }
  return nullptr;
}

void ConnectionCore::rotate(StreamState& s) {
  if (s.sequential) {
    if (!s.has_pending_send()) unqueue(s);
    return;
  }
  if (send_queue_.empty() || send_queue_.front() != s.id) return;
  send_queue_.pop_front();
  if (s.has_pending_send()) {
    send_queue_.push_back(s.id);
  } else {
    s.queued = false;
  }
}

void ConnectionCore::unqueue(StreamState& s) {
  if (s.sequential) {
    sequential_queue_.erase(s.id);
  } else if (!send_queue_.empty() && send_queue_.front() == s.id) {
    send_queue_.pop_front();
  }
  s.queued = false;
}

Timestamp ConnectionCore::progress_of(const StreamState& s) const {
  return s.sequential ? std::max(s.progress, sequential_progress_) : s.progress;
}

result<void> ConnectionCore::stream_set_sequential(std::int64_t id) {
  StreamState* s = find(id);
  if (s == nullptr || s->closed) return errc::stream_closed;
  s->sequential = true;  // a stream already queued moves over in next_sender
  return {};
}

result<std::int64_t> ConnectionCore::open_stream() {
  if (state_ != State::open)
    return close_reason_ ? close_reason_ : make_error_code(errc::connection_closed);
  if (!established_) return errc::connection_closed;
  std::int64_t id = -1;
  const int rv = ngtcp2_conn_open_bidi_stream(conn_, &id, nullptr);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED) return errc::stream_limit;
  if (rv != 0) return errc::protocol_error;
  add_stream(id);
  return id;
}

result<std::size_t> ConnectionCore::stream_write(std::int64_t id,
                                                 std::span<const std::uint8_t> data) {
  StreamState* s = find(id);
  if (state_ != State::open) return close_reason_;
  if (s == nullptr || s->fin_requested) return errc::stream_closed;
  // Closed before we finished it: it was reset (by the peer, or locally).
  if (s->tx_closed || s->closed) return errc::stream_reset;
  // Reserved room first, then new room within the stream's buffer and the shared budget.
  const std::uint64_t limit = settings_.stream_send_buffer;
  const std::uint64_t held = s->tx.size() + s->reserved;
  const std::uint64_t space = held < limit ? limit - held : 0;
  const std::uint64_t from_reserve = std::min<std::uint64_t>(s->reserved, data.size());
  const std::uint64_t extra = std::min<std::uint64_t>(space, data.size() - from_reserve);
  const std::uint64_t granted = charge(*s, extra);
  s->reserved -= from_reserve;
  const std::size_t n = static_cast<std::size_t>(from_reserve + granted);
  if (n == 0) {
    s->writer_waiting = true;
    s->budget_blocked = space > 0;
    return std::size_t{0};
  }
  s->tx.append(data.first(n));
  schedule_send(*s);
  return n;
}

result<std::size_t> ConnectionCore::stream_reserve(std::int64_t id, std::size_t want) {
  StreamState* s = find(id);
  if (state_ != State::open) return close_reason_;
  if (s == nullptr || s->fin_requested) return errc::stream_closed;
  if (s->tx_closed || s->closed) return errc::stream_reset;
  if (s->reserved < want) {
    const std::uint64_t limit = settings_.stream_send_buffer;
    const std::uint64_t held = s->tx.size() + s->reserved;
    const std::uint64_t space = held < limit ? limit - held : 0;
    const std::uint64_t granted = charge(*s, std::min<std::uint64_t>(space, want - s->reserved));
    s->reserved += granted;
    if (s->reserved == 0) {
      s->writer_waiting = true;
      s->budget_blocked = space > 0;
      return std::size_t{0};
    }
  }
  return static_cast<std::size_t>(std::min<std::uint64_t>(s->reserved, want));
}

result<void> ConnectionCore::stream_finish(std::int64_t id) {
  StreamState* s = find(id);
  if (state_ != State::open) return close_reason_;
  if (s == nullptr || s->closed) return errc::stream_closed;
  if (s->tx_closed) return errc::stream_reset;
  s->fin_requested = true;
  schedule_send(*s);
  return {};
}

result<std::size_t> ConnectionCore::stream_read(std::int64_t id, std::span<std::uint8_t> out,
                                                bool* fin) {
  *fin = false;
  StreamState* s = find(id);
  if (s == nullptr) return errc::stream_closed;
  if (s->rx_reset) return errc::stream_reset;
  const std::size_t n = s->rx.read(out);
  if (n > 0) {
    // Credit goes back only as the application consumes: a slow reader slows the sender.
    if (state_ == State::open) {
      ngtcp2_conn_extend_max_stream_offset(conn_, id, n);
      ngtcp2_conn_extend_max_offset(conn_, n);
    }
    return n;
  }
  if (s->rx_fin) {
    *fin = true;
    return std::size_t{0};
  }
  if (state_ != State::open) return close_reason_;
  s->reader_waiting = true;
  return std::size_t{0};
}

std::size_t ConnectionCore::stream_readable_bytes(std::int64_t id) const {
  const StreamState* s = find(id);
  return s ? static_cast<std::size_t>(s->rx.size()) : 0;
}

std::uint64_t ConnectionCore::stream_reset_code(std::int64_t id) const {
  const StreamState* s = find(id);
  return s ? s->reset_code : 0;
}

void ConnectionCore::stream_reset(std::int64_t id, std::uint64_t app_code) {
  StreamState* s = find(id);
  if (s == nullptr || s->closed) return;
  s->tx_closed = true;
  uncharge_all(*s);
  s->tx.clear();
  s->rx.clear();
  if (state_ == State::open) ngtcp2_conn_shutdown_stream(conn_, id, app_code);
}

void ConnectionCore::stream_release(std::int64_t id) {
  StreamState* s = find(id);
  if (s == nullptr) return;
  if (s->closed || state_ != State::open) {
    erase_stream(id);
    return;
  }
  s->released = true;
  // Not finished cleanly on both sides: reset so that the stream ends and frees its slot.
  if (!(s->fin_sent || s->fin_requested) || !(s->rx_fin && s->rx.empty())) {
    stream_reset(id, kAppNoError);
  }
}

}  // namespace lanspread::transport
