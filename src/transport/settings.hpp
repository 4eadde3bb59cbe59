// Tunables of the transport. Defaults are sized for a 10 Gbit/s LAN with sub-millisecond
// round trips; tests shrink the timeouts.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace lanspread::transport {

inline constexpr std::string_view kAlpn = "lanspread/1";

enum class CongestionControl { cubic, bbr };

struct TransportSettings {
  std::string alpn{kAlpn};
  std::chrono::milliseconds idle_timeout{30'000};
  std::chrono::milliseconds keep_alive{10'000};  // PING when idle this long; 0 = off
  // Handshake and party-key proof together: a connection not established by then is closed.
  std::chrono::milliseconds handshake_timeout{5'000};
  // Streams the other side may have open towards us at once (its MAX_STREAMS credit).
  std::uint64_t max_streams_bidi = 64;
  // Flow-control windows: initial values, auto-tuned by ngtcp2 up to the max.
  // 10 Gbit/s x 1 ms RTT = 1.25 MB in flight; the windows leave room for several times that.
  std::uint64_t stream_window = 8ULL << 20;
  std::uint64_t max_stream_window = 64ULL << 20;
  std::uint64_t connection_window = 32ULL << 20;
  std::uint64_t max_connection_window = 256ULL << 20;
  // Bytes a stream may hold unacknowledged before write() waits (back-pressure).
  std::uint64_t stream_send_buffer = 4ULL << 20;
  // Stream bytes held for sending by all connections, and by the connections of one source
  // address; a write waits for room (docs/security.md, "QUIC transport and the game server").
  std::uint64_t send_budget = 256ULL << 20;
  std::uint64_t send_budget_per_host = 32ULL << 20;
  // A stream that holds bytes to send (or waits for room) and makes no progress for this
  // long (nothing acknowledged, no room granted) is reset, freeing its budget.
  std::chrono::milliseconds send_stall_timeout{15'000};
  // An established connection with no stream open for this long is closed.
  std::chrono::milliseconds unused_timeout{60'000};
  CongestionControl congestion = CongestionControl::cubic;
  // Optional shared secret: peers without the same key can open no stream (docs/security.md).
  std::optional<std::array<std::uint8_t, 32>> party_key;
  // Endpoint limits: connection slots for peers that dial us and for our own dials, and the
  // incoming connections one source address may hold.
  std::size_t max_incoming = 256;
  std::size_t max_outgoing = 256;
  std::size_t max_incoming_per_host = 8;
  // Require a Retry round trip (address validation) from clients we have not seen.
  bool validate_address = true;
  // Tests only: false withholds our party-key proof (a peer that never proves itself).
  bool send_party_proof = true;
};

}  // namespace lanspread::transport
