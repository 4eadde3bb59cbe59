// The sans-IO QUIC connection: ngtcp2 + GnuTLS state, streams and their buffers. It takes
// datagrams and time, and produces datagrams, a timer deadline and events. No sockets, no
// clock, no threads: the endpoint (endpoint.hpp) or a test drives it.
//
// Callbacks from ngtcp2 only record state and queue events; packets are written only by
// write_batch(), called by the driver.
#pragma once

#include "transport/address.hpp"
#include "transport/budget.hpp"
#include "transport/error.hpp"
#include "transport/identity.hpp"
#include "transport/settings.hpp"
#include "transport/stream_buffer.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

struct ngtcp2_conn;
struct ngtcp2_pkt_hd;
struct ngtcp2_cid;

namespace lanspread::transport {

using Timestamp = std::uint64_t;  // nanoseconds of a monotonic clock
inline constexpr Timestamp kNever = UINT64_MAX;

// Length of the connection ids we issue, as client and as server (one endpoint routes short
// headers of both by it). 8 random bytes tell apart every connection an endpoint holds, and
// every packet carries 8 bytes less of header than with 16.
inline constexpr std::size_t kConnectionIdLen = 8;

// Application error codes on the wire (CONNECTION_CLOSE, RESET_STREAM, STOP_SENDING).
inline constexpr std::uint64_t kAppNoError = 0;
inline constexpr std::uint64_t kAppPartyKeyRejected = 0x10;
inline constexpr std::uint64_t kAppShuttingDown = 0x11;
inline constexpr std::uint64_t kAppSendStalled = 0x12;      // stream reset: no send progress
inline constexpr std::uint64_t kAppConnectionLimit = 0x13;  // evicted: connection slots full

struct CoreEvent {
  enum Kind {
    handshake_done,     // established (and party key verified, when one is set)
    stream_opened,      // the peer opened stream `stream_id`
    stream_readable,    // new bytes, FIN or reset on `stream_id`
    stream_writable,    // send space freed on `stream_id`
    stream_closed,      // `stream_id` is gone on both sides (`code`: app error or 0)
    streams_available,  // more local streams may be opened
    closed,             // the connection is over; see ConnectionCore::close_reason()
  };
  Kind kind;
  std::int64_t stream_id = -1;
  std::uint64_t code = 0;
};

// One UDP datagram or a GSO batch of equal-sized datagrams (the last may be shorter).
struct TxBatch {
  Path path;
  unsigned ecn = 0;
  std::span<const std::uint8_t> data;
  std::size_t segment_size = 0;
};

struct StreamState;

class ConnectionCore {
 public:
  ~ConnectionCore();
  ConnectionCore(const ConnectionCore&) = delete;
  ConnectionCore& operator=(const ConnectionCore&) = delete;

  // A client connection to `path.remote` that accepts only a server whose certificate
  // hashes to `expected_peer_id`.
  static result<std::unique_ptr<ConnectionCore>> client(const TransportSettings& settings,
                                                        std::shared_ptr<const Identity> identity,
                                                        std::string expected_peer_id,
                                                        const Path& path, Timestamp now);
  // A server connection for the Initial packet `hd`. `original_dcid` is set when the client
  // came back with a valid Retry token.
  static result<std::unique_ptr<ConnectionCore>> server(const TransportSettings& settings,
                                                        std::shared_ptr<const Identity> identity,
                                                        const ngtcp2_pkt_hd& hd,
                                                        const ngtcp2_cid* original_dcid,
                                                        const Path& path, Timestamp now);

  // ---- driving ----
  result<void> on_datagram(const Path& path, unsigned ecn, std::span<const std::uint8_t> data,
                           Timestamp now);
  // Next batch of packets to send, or an empty batch when nothing may be sent now. The
  // batch's bytes stay valid until the next call.
  TxBatch write_batch(Timestamp now, std::size_t max_segments);
  Timestamp expiry() const;
  void on_expiry(Timestamp now);
  std::vector<CoreEvent> take_events() { return std::exchange(events_, {}); }

  // ---- state ----
  bool is_server() const { return server_; }
  bool established() const { return established_; }
  bool is_closed() const { return state_ == State::closed; }
  // Closing or draining: no new streams; the driver keeps the core until expiry() passes.
  bool is_closing() const { return state_ != State::open; }
  boost::system::error_code close_reason() const { return close_reason_; }
  const std::string& peer_id() const { return peer_id_; }
  // Source connection ids of this side, to route datagrams to it.
  std::vector<std::vector<std::uint8_t>> source_ids() const;
  // Connection ids this side issued or retired since the last call (for routing).
  std::vector<std::vector<std::uint8_t>> take_new_ids() { return std::exchange(new_ids_, {}); }
  std::vector<std::vector<std::uint8_t>> take_retired_ids() {
    return std::exchange(retired_ids_, {});
  }
  ngtcp2_conn* ngtcp2_handle() const { return conn_; }

  // ---- streams ----
  result<std::int64_t> open_stream();
  // Appends to the stream's send buffer; returns how many bytes it took (0 when the buffer
  // is full: wait for stream_writable). Room reserved with stream_reserve is used first.
  result<std::size_t> stream_write(std::int64_t id, std::span<const std::uint8_t> data);
  // Reserves send room for up to `want` bytes of this stream's next writes (charged to the
  // budget now). Returns the room reserved, at most `want`; 0: wait for stream_writable.
  result<std::size_t> stream_reserve(std::int64_t id, std::size_t want);
  // Charges this connection's stream bytes to `budget` under `host` (the endpoint's budget;
  // without one, only the per-stream buffer limits a writer).
  void attach_budget(SendBudget* budget, const Host& host) {
    budget_ = budget;
    host_ = host;
  }
  // Wakes writers that wait for the shared budget if their source address has room now;
  // true if any were woken. `*left` is set when writers still wait (no room for them).
  bool wake_budget_waiters(bool* left);
  result<void> stream_finish(std::int64_t id);
  // From now on the stream's data is sent only when no ordinary stream of the connection has
  // data to send, and one sequential stream at a time, the lowest id (the oldest request)
  // first, until it has nothing more to send now. For bulk answers: each arrives whole as
  // soon as possible instead of all of them at once slowly, and one not yet begun can be
  // asked of another peer without anything having been sent twice. While one of them makes
  // progress, those waiting for their turn are not stalled (send_stall_timeout).
  result<void> stream_set_sequential(std::int64_t id);
  // Copies received bytes out. Returns 0 with *fin set at the end of the stream; fails with
  // errc::stream_reset when the peer reset it. Returns flow-control credit as it consumes.
  result<std::size_t> stream_read(std::int64_t id, std::span<std::uint8_t> out, bool* fin);
  std::size_t stream_readable_bytes(std::int64_t id) const;
  void stream_reset(std::int64_t id, std::uint64_t app_code);  // both directions
  std::uint64_t stream_reset_code(std::int64_t id) const;
  // Forgets a stream the application no longer uses (after close or reset).
  void stream_release(std::int64_t id);

  // Graceful close with an application code; the CONNECTION_CLOSE goes out on the next
  // write_batch.
  void close(std::uint64_t app_code);

  // ngtcp2 callback entry points (public for the C callbacks in connection_core.cpp).
  struct Callbacks;
  friend struct Callbacks;

 private:
  enum class State { open, closing, draining, closed };
  ConnectionCore(const TransportSettings& settings, std::shared_ptr<const Identity> identity);
  result<void> init_tls(bool server);
  // TLS, keep-alive and the handshake deadline, once the ngtcp2 connection exists.
  result<void> start(Timestamp now);
  void fail(boost::system::error_code reason, bool send_close);
  void enter_closing();
  StreamState* find(std::int64_t id);
  const StreamState* find(std::int64_t id) const;
  StreamState& add_stream(std::int64_t id);
  void schedule_send(StreamState& s);
  // The stream to send from next: ordinary streams in round robin, one packet each; when none
  // has data, the lowest sequential stream that has.
  StreamState* next_sender();
  // After a packet took `s`'s data: an ordinary stream goes to the back of the round robin,
  // a sequential one keeps its turn while it has data.
  void rotate(StreamState& s);
  // `s` (the stream next_sender returned) has nothing it can send now.
  void unqueue(StreamState& s);
  // When the stream last made progress; one waiting for its sequential turn counts the
  // progress of the sequential stream being sent.
  Timestamp progress_of(const StreamState& s) const;
  void on_handshake_completed();
  void check_party_proof();
  void after_read(Timestamp now);
  void set_established();
  // Send budget of one stream: charge up to `want` bytes, give back acknowledged or dropped.
  std::uint64_t charge(StreamState& s, std::uint64_t want);
  void uncharge_sent(StreamState& s, std::uint64_t bytes);
  void uncharge_all(StreamState& s);
  void erase_stream(std::int64_t id);
  // Stalled streams and the unused-connection deadline (settings_.send_stall_timeout,
  // unused_timeout): the next time either is due, and acting on them.
  Timestamp housekeeping_deadline() const;
  void housekeeping(Timestamp now);
  void reset_stalled(std::int64_t id);
  std::array<std::uint8_t, 32> party_proof(bool from_server) const;
  bool verify_peer_certificate();

  TransportSettings settings_;
  std::shared_ptr<const Identity> identity_;
  bool server_ = false;
  ngtcp2_conn* conn_ = nullptr;
  void* tls_ = nullptr;  // gnutls_session_t
  struct ConnRef;
  std::unique_ptr<ConnRef> conn_ref_;
  std::string expected_peer_id_;
  std::string peer_id_;
  bool peer_id_mismatch_ = false;
  bool established_ = false;
  bool handshake_completed_ = false;
  State state_ = State::open;
  Timestamp close_deadline_ = kNever;
  boost::system::error_code close_reason_;
  std::vector<std::uint8_t> close_packet_;
  bool close_packet_pending_ = false;
  Path close_path_;
  Timestamp handshake_deadline_ = kNever;
  Timestamp last_now_ = 0;
  std::uint64_t close_app_code_ = kAppShuttingDown;

  SendBudget* budget_ = nullptr;
  Host host_;
  std::size_t app_streams_ = 0;  // bidirectional streams held
  Timestamp last_used_ = 0;      // when the last stream opened or ended

  BlockPool pool_;
  std::unordered_map<std::int64_t, std::unique_ptr<StreamState>> streams_;
  std::deque<std::int64_t> send_queue_;
  std::set<std::int64_t> sequential_queue_;  // sequential streams with data to send
  Timestamp sequential_progress_ = 0;        // when a sequential stream's data was last acked
  std::vector<CoreEvent> events_;
  std::vector<std::vector<std::uint8_t>> new_ids_;
  std::vector<std::vector<std::uint8_t>> retired_ids_;
  std::vector<std::uint8_t> tx_buffer_;

  // Party key handshake (docs/security.md).
  std::int64_t party_tx_stream_ = -1;
  std::vector<std::uint8_t> party_rx_;
  bool party_pending_ = false;  // the peer's proof is complete and waits to be checked
  bool party_ok_ = false;
  // A packet written but not yet handed out because it could not join the last batch.
  std::vector<std::uint8_t> held_packet_;
  Path held_path_;
  unsigned held_ecn_ = 0;
};

}  // namespace lanspread::transport
