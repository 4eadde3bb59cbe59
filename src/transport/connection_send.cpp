// ConnectionCore's sending side: writing packets (streams in their turn, GSO batches) and the
// send-side deadlines (stalled streams, unused connections).
#include "transport/connection_core.hpp"

#include "transport/ngtcp2_glue.hpp"
#include "transport/stream_state.hpp"

#include <ngtcp2/ngtcp2.h>

#include <algorithm>

namespace lanspread::transport {

Timestamp ConnectionCore::housekeeping_deadline() const {
  if (state_ != State::open || !established_) return kNever;
  Timestamp t = kNever;
  if (settings_.send_stall_timeout.count() > 0) {
    const Timestamp stall = to_ns(settings_.send_stall_timeout);
    for (const auto& [id, s] : streams_) {
      if (s->owes_progress()) t = std::min(t, progress_of(*s) + stall);
    }
  }
  if (app_streams_ == 0 && settings_.unused_timeout.count() > 0)
    t = std::min(t, last_used_ + to_ns(settings_.unused_timeout));
  return t;
}

void ConnectionCore::housekeeping(Timestamp now) {
  if (state_ != State::open || !established_) return;
  if (settings_.send_stall_timeout.count() > 0) {
    const Timestamp stall = to_ns(settings_.send_stall_timeout);
    std::vector<std::int64_t> stalled;
    for (auto& [id, s] : streams_) {
      if (s->owes_progress() && now >= progress_of(*s) + stall) stalled.push_back(id);
    }
    for (std::int64_t id : stalled) reset_stalled(id);
  }
  if (app_streams_ == 0 && settings_.unused_timeout.count() > 0 &&
      now >= last_used_ + to_ns(settings_.unused_timeout)) {
    close_app_code_ = kAppNoError;
    fail(errc::unused_timeout, true);
  }
}

void ConnectionCore::reset_stalled(std::int64_t id) {
  // The reader stopped reading or acknowledging: drop what it was owed, in both directions,
  // and tell whoever waits on the stream.
  stream_reset(id, kAppSendStalled);
  StreamState* s = find(id);  // a released stream may be gone now
  if (s == nullptr) return;
  s->rx_reset = true;
  s->reset_code = kAppSendStalled;
  s->writer_waiting = false;
  s->reader_waiting = false;
  events_.push_back({CoreEvent::stream_readable, id, kAppSendStalled});
  events_.push_back({CoreEvent::stream_writable, id, kAppSendStalled});
}

TxBatch ConnectionCore::write_batch(Timestamp now, std::size_t max_segments) {
  last_now_ = now;
  if (!held_packet_.empty()) {
    // A packet that could not join the previous batch goes out alone first.
    tx_buffer_.swap(held_packet_);
    held_packet_.clear();
    return TxBatch{held_path_, held_ecn_, tx_buffer_, tx_buffer_.size()};
  }
  if (state_ == State::closing) {
    if (!close_packet_pending_) return {};
    close_packet_pending_ = false;
    return TxBatch{close_path_, 0, close_packet_, close_packet_.size()};
  }
  if (state_ != State::open) return {};

  const std::size_t max_udp = ngtcp2_conn_get_max_tx_udp_payload_size(conn_);
  const std::size_t path_max_udp = ngtcp2_conn_get_path_max_tx_udp_payload_size(conn_);
  const std::size_t quantum = ngtcp2_conn_get_send_quantum(conn_) / max_udp;
  const std::size_t max_packets = std::max<std::size_t>(1, std::min(max_segments, quantum));
  if (tx_buffer_.size() < max_packets * max_udp) tx_buffer_.resize(max_packets * max_udp);

  ngtcp2_path_storage ps;
  ngtcp2_path_storage_zero(&ps);
  ngtcp2_pkt_info pi{};
  TxBatch batch;
  std::size_t used = 0;
  std::size_t packets = 0;
  constexpr std::size_t kMaxVecs = 16;
  ngtcp2_vec vecs[kMaxVecs];
  std::span<const std::uint8_t> parts[kMaxVecs];

  for (;;) {
    StreamState* s = next_sender();
    std::size_t nvec = 0;
    std::uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
    std::int64_t stream_id = -1;
    if (s != nullptr) {
      stream_id = s->id;
      nvec = s->tx.spans(s->tx_sent, parts);
      std::uint64_t covered = s->tx_sent;
      for (std::size_t i = 0; i < nvec; ++i) {
        vecs[i] = ngtcp2_vec{const_cast<std::uint8_t*>(parts[i].data()), parts[i].size()};
        covered += parts[i].size();
      }
      if (s->fin_requested && covered == s->tx.end()) flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
    }

    ngtcp2_ssize ndatalen = -1;
    const ngtcp2_ssize nwrite =
        ngtcp2_conn_writev_stream(conn_, &ps.path, &pi, tx_buffer_.data() + used, max_udp,
                                  &ndatalen, flags, stream_id, nvec ? vecs : nullptr, nvec, now);
    if (s != nullptr && ndatalen >= 0) {
      s->tx_sent += static_cast<std::uint64_t>(ndatalen);
      if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && s->tx_sent == s->tx.end()) s->fin_sent = true;
    }
    if (nwrite < 0) {
      if (nwrite == NGTCP2_ERR_STREAM_DATA_BLOCKED || nwrite == NGTCP2_ERR_STREAM_SHUT_WR) {
        // Blocked by flow control (extend_max_stream_data re-queues it) or shut.
        if (nwrite == NGTCP2_ERR_STREAM_SHUT_WR) s->tx_closed = true;
        unqueue(*s);
        continue;
      }
      if (nwrite == NGTCP2_ERR_WRITE_MORE) {
        // The packet has room: pack the next stream's data into it as well.
        if (s != nullptr) rotate(*s);
        continue;
      }
      fail(errc::protocol_error, true);
      return write_batch(now, max_segments);
    }
    if (nwrite == 0) break;  // nothing to send, or congestion / pacing limited

    const Path p = from_ngtcp2(ps.path);
    if (packets == 0) {
      batch.path = p;
      batch.ecn = pi.ecn;
      batch.segment_size = static_cast<std::size_t>(nwrite);
    } else if (!(p.local == batch.path.local && p.remote == batch.path.remote) ||
               pi.ecn != batch.ecn || static_cast<std::size_t>(nwrite) > batch.segment_size ||
               (batch.segment_size > path_max_udp &&
                static_cast<std::size_t>(nwrite) != batch.segment_size)) {
      held_packet_.assign(tx_buffer_.data() + used, tx_buffer_.data() + used + nwrite);
      held_path_ = p;
      held_ecn_ = pi.ecn;
      break;
    }
    used += static_cast<std::size_t>(nwrite);
    ++packets;
    if (s != nullptr) rotate(*s);
    if (packets == max_packets || static_cast<std::size_t>(nwrite) < batch.segment_size) break;
  }
  ngtcp2_conn_update_pkt_tx_time(conn_, now);
  if (packets == 0) return {};
  batch.data = {tx_buffer_.data(), used};
  return batch;
}

}  // namespace lanspread::transport
