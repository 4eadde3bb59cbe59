// Internal to the transport: one stream's buffers and flags inside a ConnectionCore.
#pragma once

#include "transport/stream_buffer.hpp"

#include <cstdint>

namespace lanspread::transport {

struct StreamState {
  StreamState(std::int64_t stream_id, BlockPool& pool) : id(stream_id), rx(pool), tx(pool) {}
  std::int64_t id;
  ByteQueue rx;  // received, not yet read by the application
  bool rx_fin = false;
  bool rx_reset = false;
  std::uint64_t reset_code = 0;
  ByteQueue tx;  // [begin, end): not yet acknowledged; [tx_sent, end): not yet sent
  std::uint64_t tx_sent = 0;
  bool fin_requested = false;
  bool fin_sent = false;
  bool tx_closed = false;   // reset locally, or the peer asked us to stop
  bool queued = false;      // in send_queue_ or sequential_queue_
  bool sequential = false;  // sent one at a time, after ordinary streams (stream_set_sequential)
  bool closed = false;      // gone in ngtcp2
  bool released = false;    // the application let go of it
  bool party = false;       // the party-key proof stream
  bool reader_waiting = false;
  bool writer_waiting = false;
  bool budget_blocked = false;  // the writer waits for the endpoint's shared send budget
  // Send budget: bytes charged for this stream (tx bytes still held plus `reserved`), and
  // room reserved ahead of writes (ConnectionCore::stream_reserve).
  std::uint64_t charged = 0;
  std::uint64_t reserved = 0;
  std::uint64_t progress = 0;  // when bytes were last acknowledged or room granted

  // Holds bytes to send or room reserved, or waits for room: must make progress
  // (send_stall_timeout).
  bool owes_progress() const {
    return !party && !tx_closed && !closed && (!tx.empty() || reserved > 0 || writer_waiting);
  }

  bool has_pending_send() const {
    return !tx_closed && (tx_sent < tx.end() || (fin_requested && !fin_sent));
  }
};

}  // namespace lanspread::transport
