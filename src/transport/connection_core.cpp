#include "transport/connection_core.hpp"

#include "transport/ngtcp2_glue.hpp"
#include "transport/stream_state.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>
#include <ngtcp2/ngtcp2_crypto_gnutls.h>

#include <algorithm>
#include <cstring>
#include <deque>

namespace lanspread::transport {

struct ConnectionCore::ConnRef {
  ngtcp2_crypto_conn_ref ref;
};

namespace {

constexpr std::size_t kPartyProofLen = 32;
constexpr std::uint8_t kTlsAlertNoApplicationProtocol = 120;
const char kPriority[] =
    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:"
    "-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:%DISABLE_TLS13_COMPAT_MODE";

void random_bytes(std::uint8_t* dest, std::size_t len) {
  gnutls_rnd(GNUTLS_RND_RANDOM, dest, len);
}

ngtcp2_cid random_cid(std::size_t len) {
  ngtcp2_cid cid;
  cid.datalen = len;
  random_bytes(cid.data, len);
  return cid;
}

ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref);

}  // namespace

// ---- ngtcp2 callbacks: record state, queue events, never write packets ----------------
struct ConnectionCore::Callbacks {
  static ConnectionCore* self(void* user_data) { return static_cast<ConnectionCore*>(user_data); }

  static int recv_stream_data(ngtcp2_conn*, std::uint32_t flags, std::int64_t stream_id,
                              std::uint64_t, const std::uint8_t* data, std::size_t datalen,
                              void* user_data, void*) {
    auto* c = self(user_data);
    StreamState* s = c->find(stream_id);
    if (s == nullptr) return 0;  // released locally: drop
    if (s->party) {
      // Proof bytes are tiny and consumed at once; credit returned immediately.
      if (c->party_rx_.size() + datalen > kPartyProofLen) return NGTCP2_ERR_CALLBACK_FAILURE;
      c->party_rx_.insert(c->party_rx_.end(), data, data + datalen);
      ngtcp2_conn_extend_max_stream_offset(c->conn_, stream_id, datalen);
      ngtcp2_conn_extend_max_offset(c->conn_, datalen);
      if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) c->party_pending_ = true;
      return 0;
    }
    s->rx.append({data, datalen});
    if (flags & NGTCP2_STREAM_DATA_FLAG_FIN) s->rx_fin = true;
    if (s->reader_waiting) {
      s->reader_waiting = false;
      c->events_.push_back({CoreEvent::stream_readable, stream_id});
    }
    return 0;
  }

  static int acked_stream_data_offset(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t offset,
                                      std::uint64_t datalen, void* user_data, void*) {
    auto* c = self(user_data);
    StreamState* s = c->find(stream_id);
    if (s == nullptr) return 0;
    const std::uint64_t before = s->tx.size();
    s->tx.consume_to(offset + datalen);
    if (s->tx.size() < before) {
      c->uncharge_sent(*s, before - s->tx.size());
      s->progress = c->last_now_;
      if (s->sequential) c->sequential_progress_ = c->last_now_;
    }
    // Wake a waiting writer at the low-water mark, not on every acknowledged packet.
    if (s->writer_waiting && s->tx.size() <= c->settings_.stream_send_buffer / 2) {
      s->writer_waiting = false;
      c->events_.push_back({CoreEvent::stream_writable, stream_id});
    }
    return 0;
  }

  static int stream_open(ngtcp2_conn* conn, std::int64_t stream_id, void* user_data) {
    auto* c = self(user_data);
    StreamState& s = c->add_stream(stream_id);
    if (!ngtcp2_is_bidi_stream(stream_id)) {
      s.party = true;  // the only unidirectional stream of the protocol
      return 0;
    }
    (void)conn;
    c->events_.push_back({CoreEvent::stream_opened, stream_id});
    return 0;
  }

  static int stream_close(ngtcp2_conn* conn, std::uint32_t flags, std::int64_t stream_id,
                          std::uint64_t app_error_code, void* user_data, void*) {
    auto* c = self(user_data);
    StreamState* s = c->find(stream_id);
    if (!ngtcp2_conn_is_local_stream(conn, stream_id) && ngtcp2_is_bidi_stream(stream_id)) {
      ngtcp2_conn_extend_max_streams_bidi(conn, 1);  // let the peer open another one
    }
    if (s == nullptr) return 0;
    s->closed = true;
    if (flags & NGTCP2_STREAM_CLOSE_FLAG_APP_ERROR_CODE_SET) s->reset_code = app_error_code;
    if (s->released) {
      c->erase_stream(stream_id);
      return 0;
    }
    c->events_.push_back({CoreEvent::stream_closed, stream_id, app_error_code});
    return 0;
  }

  static int stream_reset(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t, std::uint64_t code,
                          void* user_data, void*) {
    auto* c = self(user_data);
    StreamState* s = c->find(stream_id);
    if (s == nullptr) return 0;
    s->rx_reset = true;
    s->reset_code = code;
    s->reader_waiting = false;
    c->events_.push_back({CoreEvent::stream_readable, stream_id, code});
    return 0;
  }

  static int extend_max_local_streams_bidi(ngtcp2_conn*, std::uint64_t, void* user_data) {
    self(user_data)->events_.push_back({CoreEvent::streams_available});
    return 0;
  }

  static int extend_max_stream_data(ngtcp2_conn*, std::int64_t stream_id, std::uint64_t,
                                    void* user_data, void*) {
    auto* c = self(user_data);
    if (StreamState* s = c->find(stream_id)) c->schedule_send(*s);
    return 0;
  }

  static int handshake_completed(ngtcp2_conn*, void* user_data) {
    self(user_data)->handshake_completed_ = true;
    return 0;
  }

  static void rand(std::uint8_t* dest, std::size_t destlen, const ngtcp2_rand_ctx*) {
    random_bytes(dest, destlen);
  }

  static int get_new_connection_id(ngtcp2_conn*, ngtcp2_cid* cid, std::uint8_t* token,
                                   std::size_t cidlen, void* user_data) {
    random_bytes(cid->data, cidlen);
    cid->datalen = cidlen;
    random_bytes(token, NGTCP2_STATELESS_RESET_TOKENLEN);
    self(user_data)->new_ids_.emplace_back(cid->data, cid->data + cidlen);
    return 0;
  }

  static int remove_connection_id(ngtcp2_conn*, const ngtcp2_cid* cid, void* user_data) {
    self(user_data)->retired_ids_.emplace_back(cid->data, cid->data + cid->datalen);
    return 0;
  }

  // Called by GnuTLS once the peer's certificate arrived: this is where the peer id is
  // checked (client) or learnt (server). A non-zero return aborts the handshake.
  static int verify_certificate(gnutls_session_t session) {
    auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
    auto* c = static_cast<ConnectionCore*>(ref->user_data);
    return c->verify_peer_certificate() ? 0 : GNUTLS_E_CERTIFICATE_ERROR;
  }

  // The server insists on our ALPN: a client that offers none or another one is refused.
  static int client_hello(gnutls_session_t session, unsigned, unsigned, unsigned,
                          const gnutls_datum_t*) {
    auto* ref = static_cast<ngtcp2_crypto_conn_ref*>(gnutls_session_get_ptr(session));
    auto* c = static_cast<ConnectionCore*>(ref->user_data);
    gnutls_datum_t alpn;
    if (gnutls_alpn_get_selected_protocol(session, &alpn) != 0 ||
        std::string_view(reinterpret_cast<const char*>(alpn.data), alpn.size) !=
            c->settings_.alpn) {
      return GNUTLS_E_NO_APPLICATION_PROTOCOL;
    }
    return 0;
  }
};

namespace {
ngtcp2_conn* get_conn(ngtcp2_crypto_conn_ref* ref) {
  return static_cast<ConnectionCore*>(ref->user_data)->ngtcp2_handle();
}
}  // namespace

// ---- construction -----------------------------------------------------------------------

ConnectionCore::ConnectionCore(const TransportSettings& settings,
                               std::shared_ptr<const Identity> identity)
    : settings_(settings), identity_(std::move(identity)), conn_ref_(std::make_unique<ConnRef>()) {
  conn_ref_->ref.get_conn = get_conn;
  conn_ref_->ref.user_data = this;
}

ConnectionCore::~ConnectionCore() {
  for (auto& [id, s] : streams_) uncharge_all(*s);
  streams_.clear();
  if (conn_) ngtcp2_conn_del(conn_);
  if (tls_) gnutls_deinit(static_cast<gnutls_session_t>(tls_));
}

namespace {

ngtcp2_callbacks make_callbacks(bool server) {
  using C = ConnectionCore::Callbacks;
  return ngtcp2_callbacks{
      .client_initial = server ? nullptr : ngtcp2_crypto_client_initial_cb,
      .recv_client_initial = server ? ngtcp2_crypto_recv_client_initial_cb : nullptr,
      .recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb,
      .handshake_completed = C::handshake_completed,
      .recv_version_negotiation = nullptr,
      .encrypt = ngtcp2_crypto_encrypt_cb,
      .decrypt = ngtcp2_crypto_decrypt_cb,
      .hp_mask = ngtcp2_crypto_hp_mask_cb,
      .recv_stream_data = C::recv_stream_data,
      .acked_stream_data_offset = C::acked_stream_data_offset,
      .stream_open = C::stream_open,
      .stream_close = C::stream_close,
      .recv_stateless_reset = nullptr,
      .recv_retry = server ? nullptr : ngtcp2_crypto_recv_retry_cb,
      .extend_max_local_streams_bidi = C::extend_max_local_streams_bidi,
      .extend_max_local_streams_uni = nullptr,
      .rand = C::rand,
      .get_new_connection_id = C::get_new_connection_id,
      .remove_connection_id = C::remove_connection_id,
      .update_key = ngtcp2_crypto_update_key_cb,
      .path_validation = nullptr,
      .select_preferred_addr = nullptr,
      .stream_reset = C::stream_reset,
      .extend_max_remote_streams_bidi = nullptr,
      .extend_max_remote_streams_uni = nullptr,
      .extend_max_stream_data = C::extend_max_stream_data,
      .dcid_status = nullptr,
      .handshake_confirmed = nullptr,
      .recv_new_token = nullptr,
      .delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb,
      .delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb,
      .recv_datagram = nullptr,
      .ack_datagram = nullptr,
      .lost_datagram = nullptr,
      .get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb,
      // 0.12 calls this when *we* send STOP_SENDING; a peer's STOP_SENDING shuts our side
      // in ngtcp2 and ends in stream_close or STREAM_SHUT_WR, which we handle.
      .stream_stop_sending = nullptr,
      .version_negotiation = ngtcp2_crypto_version_negotiation_cb,
      .recv_rx_key = nullptr,
      .recv_tx_key = nullptr,
      .early_data_rejected = nullptr,
  };
}

void fill_settings(ngtcp2_settings& s, const TransportSettings& t, Timestamp now) {
  ngtcp2_settings_default(&s);
  s.initial_ts = now;
  s.cc_algo = t.congestion == CongestionControl::bbr ? NGTCP2_CC_ALGO_BBR2 : NGTCP2_CC_ALGO_CUBIC;
  s.max_window = t.max_connection_window;
  s.max_stream_window = t.max_stream_window;
  s.handshake_timeout = to_ns(t.handshake_timeout);
}

void fill_params(ngtcp2_transport_params& p, const TransportSettings& t) {
  ngtcp2_transport_params_default(&p);
  p.initial_max_stream_data_bidi_local = t.stream_window;
  p.initial_max_stream_data_bidi_remote = t.stream_window;
  p.initial_max_stream_data_uni = 4096;
  p.initial_max_data = t.connection_window;
  // With a party key the peer gets stream credit only after proving it holds the key.
  p.initial_max_streams_bidi = t.party_key ? 0 : t.max_streams_bidi;
  p.initial_max_streams_uni = t.party_key ? 1 : 0;
  p.max_idle_timeout = to_ns(t.idle_timeout);
  p.active_connection_id_limit = 7;
}

}  // namespace

result<void> ConnectionCore::start(Timestamp now) {
  if (auto r = init_tls(server_); !r) return r;
  if (settings_.keep_alive.count() > 0) {
    ngtcp2_conn_set_keep_alive_timeout(conn_, to_ns(settings_.keep_alive));
  }
  handshake_deadline_ = now + to_ns(settings_.handshake_timeout);
  return {};
}

result<void> ConnectionCore::init_tls(bool server) {
  gnutls_session_t session = nullptr;
  const unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA;
  if (gnutls_init(&session, flags) != 0) return errc::tls_setup_failed;
  tls_ = session;
  const int configured = server ? ngtcp2_crypto_gnutls_configure_server_session(session)
                                : ngtcp2_crypto_gnutls_configure_client_session(session);
  if (configured != 0 || gnutls_priority_set_direct(session, kPriority, nullptr) != 0 ||
      gnutls_credentials_set(
          session, GNUTLS_CRD_CERTIFICATE,
          static_cast<gnutls_certificate_credentials_t>(identity_->credentials())) != 0) {
    return errc::tls_setup_failed;
  }
  gnutls_session_set_ptr(session, &conn_ref_->ref);
  gnutls_session_set_verify_function(session, Callbacks::verify_certificate);
  const gnutls_datum_t alpn{reinterpret_cast<unsigned char*>(settings_.alpn.data()),
                            static_cast<unsigned>(settings_.alpn.size())};
  gnutls_alpn_set_protocols(session, &alpn, 1, GNUTLS_ALPN_MANDATORY);
  if (server) {
    // Every peer has a certificate; asking for it tells the server who is connecting.
    gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
    gnutls_handshake_set_hook_function(session, GNUTLS_HANDSHAKE_CLIENT_HELLO, GNUTLS_HOOK_POST,
                                       Callbacks::client_hello);
  } else {
    gnutls_server_name_set(session, GNUTLS_NAME_DNS, "lanspread", 9);
  }
  ngtcp2_conn_set_tls_native_handle(conn_, session);
  return {};
}

result<std::unique_ptr<ConnectionCore>> ConnectionCore::client(
    const TransportSettings& settings, std::shared_ptr<const Identity> identity,
    std::string expected_peer_id, const Path& path, Timestamp now) {
  std::unique_ptr<ConnectionCore> c(new ConnectionCore(settings, std::move(identity)));
  c->expected_peer_id_ = std::move(expected_peer_id);
  const ngtcp2_cid dcid = random_cid(18);
  const ngtcp2_cid scid = random_cid(kConnectionIdLen);
  ngtcp2_settings s;
  fill_settings(s, settings, now);
  ngtcp2_transport_params p;
  fill_params(p, settings);
  const ngtcp2_path np = to_ngtcp2(path);
  const ngtcp2_callbacks cb = make_callbacks(false);
  if (ngtcp2_conn_client_new(&c->conn_, &dcid, &scid, &np, NGTCP2_PROTO_VER_V1, &cb, &s, &p,
                             nullptr, c.get()) != 0) {
    return errc::quic_setup_failed;
  }
  if (auto r = c->start(now); !r) return r.error();
  return c;
}

result<std::unique_ptr<ConnectionCore>> ConnectionCore::server(
    const TransportSettings& settings, std::shared_ptr<const Identity> identity,
    const ngtcp2_pkt_hd& hd, const ngtcp2_cid* original_dcid, const Path& path, Timestamp now) {
  std::unique_ptr<ConnectionCore> c(new ConnectionCore(settings, std::move(identity)));
  c->server_ = true;
  const ngtcp2_cid scid = random_cid(kConnectionIdLen);
  ngtcp2_settings s;
  fill_settings(s, settings, now);
  s.token = hd.token;
  ngtcp2_transport_params p;
  fill_params(p, settings);
  p.stateless_reset_token_present = 1;
  random_bytes(p.stateless_reset_token, sizeof p.stateless_reset_token);
  if (original_dcid != nullptr) {
    p.original_dcid = *original_dcid;
    p.retry_scid = hd.dcid;
    p.retry_scid_present = 1;
  } else {
    p.original_dcid = hd.dcid;
  }
  const ngtcp2_path np = to_ngtcp2(path);
  const ngtcp2_callbacks cb = make_callbacks(true);
  if (ngtcp2_conn_server_new(&c->conn_, &hd.scid, &scid, &np, hd.version, &cb, &s, &p, nullptr,
                             c.get()) != 0) {
    return errc::quic_setup_failed;
  }
  if (auto r = c->start(now); !r) return r.error();
  return c;
}

// ---- driving ----------------------------------------------------------------------------

void ConnectionCore::after_read(Timestamp) {
  if (handshake_completed_ && !established_ && party_tx_stream_ < 0 && state_ == State::open) {
    on_handshake_completed();
  }
  if (party_pending_) check_party_proof();
}

namespace {

boost::system::error_code reason_from_remote(ngtcp2_conn* conn, bool server) {
  ngtcp2_connection_close_error ccerr;
  ngtcp2_conn_get_connection_close_error(conn, &ccerr);
  if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION) {
    if (ccerr.error_code == kAppPartyKeyRejected) return errc::party_key_rejected;
    return errc::connection_closed;
  }
  if (ccerr.error_code == NGTCP2_CRYPTO_ERROR + kTlsAlertNoApplicationProtocol) {
    return errc::alpn_mismatch;
  }
  if ((ccerr.error_code & 0xff00) == NGTCP2_CRYPTO_ERROR) {
    // A server does not judge client certificates; a client alert means it refused ours.
    return server ? errc::handshake_failed : errc::handshake_failed;
  }
  if (ccerr.error_code == NGTCP2_NO_ERROR) return errc::connection_closed;
  return errc::protocol_error;
}

}  // namespace

result<void> ConnectionCore::on_datagram(const Path& path, unsigned ecn,
                                         std::span<const std::uint8_t> data, Timestamp now) {
  if (state_ == State::closing) {
    close_packet_pending_ = !close_packet_.empty();  // answer with the saved close
    return {};
  }
  if (state_ != State::open) return {};
  last_now_ = now;
  const ngtcp2_path np = to_ngtcp2(path);
  ngtcp2_pkt_info pi{static_cast<std::uint32_t>(ecn)};
  const int rv = ngtcp2_conn_read_pkt(conn_, &np, &pi, data.data(), data.size(), now);
  if (rv == 0) {
    after_read(now);
    return {};
  }
  switch (rv) {
    case NGTCP2_ERR_DRAINING:
      close_reason_ = reason_from_remote(conn_, server_);
      state_ = State::draining;
      close_deadline_ = now + 3 * ngtcp2_conn_get_pto(conn_);
      events_.push_back({CoreEvent::closed});
      break;
    case NGTCP2_ERR_DROP_CONN:
      fail(errc::protocol_error, false);
      break;
    case NGTCP2_ERR_CRYPTO: {
      const std::uint8_t alert = ngtcp2_conn_get_tls_alert(conn_);
      fail(peer_id_mismatch_                         ? errc::peer_id_mismatch
           : alert == kTlsAlertNoApplicationProtocol ? errc::alpn_mismatch
                                                     : errc::handshake_failed,
           true);
      break;
    }
    default:
      fail(errc::protocol_error, true);
      break;
  }
  return close_reason_;
}

void ConnectionCore::fail(boost::system::error_code reason, bool send_close) {
  if (state_ != State::open) return;
  close_reason_ = reason;
  if (send_close && conn_ != nullptr) {
    ngtcp2_connection_close_error ccerr;
    if (reason == errc::peer_id_mismatch || reason == errc::alpn_mismatch ||
        reason == errc::handshake_failed) {
      ngtcp2_connection_close_error_set_transport_error_tls_alert(
          &ccerr, ngtcp2_conn_get_tls_alert(conn_), nullptr, 0);
    } else if (reason == errc::party_key_rejected) {
      ngtcp2_connection_close_error_set_application_error(&ccerr, kAppPartyKeyRejected, nullptr, 0);
    } else if (reason == errc::protocol_error) {
      ngtcp2_connection_close_error_set_transport_error(&ccerr, NGTCP2_PROTOCOL_VIOLATION, nullptr,
                                                        0);
    } else {
      ngtcp2_connection_close_error_set_application_error(&ccerr, close_app_code_, nullptr, 0);
    }
    close_packet_.resize(NGTCP2_MAX_UDP_PAYLOAD_SIZE);
    ngtcp2_path_storage ps;
    ngtcp2_path_storage_zero(&ps);
    ngtcp2_pkt_info pi;
    const ngtcp2_ssize n = ngtcp2_conn_write_connection_close(
        conn_, &ps.path, &pi, close_packet_.data(), close_packet_.size(), &ccerr, last_now_);
    if (n > 0) {
      close_packet_.resize(static_cast<std::size_t>(n));
      close_path_ = from_ngtcp2(ps.path);
      close_packet_pending_ = true;
      state_ = State::closing;
      close_deadline_ = last_now_ + 3 * ngtcp2_conn_get_pto(conn_);
    } else {
      close_packet_.clear();
      state_ = State::closed;
    }
  } else {
    state_ = State::closed;
  }
  // Nothing more will be sent: the bytes held for sending leave the budget now.
  for (auto& [id, s] : streams_) uncharge_all(*s);
  events_.push_back({CoreEvent::closed});
}

void ConnectionCore::close(std::uint64_t app_code) {
  if (state_ != State::open) return;
  close_app_code_ = app_code;
  fail(app_code == kAppPartyKeyRejected ? errc::party_key_rejected : errc::connection_closed, true);
}

Timestamp ConnectionCore::expiry() const {
  switch (state_) {
    case State::closed:
      return kNever;
    case State::closing:
    case State::draining:
      return close_deadline_;
    case State::open:
      break;
  }
  Timestamp t = ngtcp2_conn_get_expiry(conn_);
  if (!established_) t = std::min(t, handshake_deadline_);
  return std::min(t, housekeeping_deadline());
}

void ConnectionCore::on_expiry(Timestamp now) {
  last_now_ = now;
  if (state_ == State::closing || state_ == State::draining) {
    if (now >= close_deadline_) state_ = State::closed;
    return;
  }
  if (state_ != State::open) return;
  if (!established_ && now >= handshake_deadline_) {
    fail(errc::handshake_timeout, true);
    return;
  }
  const int rv = ngtcp2_conn_handle_expiry(conn_, now);
  if (rv == NGTCP2_ERR_IDLE_CLOSE) {
    fail(errc::idle_timeout, false);  // silent, as QUIC wants
  } else if (rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT) {
    fail(errc::handshake_timeout, false);
  } else if (rv != 0) {
    fail(errc::protocol_error, true);
  } else {
    housekeeping(now);
  }
}

std::vector<std::vector<std::uint8_t>> ConnectionCore::source_ids() const {
  std::vector<ngtcp2_cid> cids(ngtcp2_conn_get_num_scid(conn_));
  ngtcp2_conn_get_scid(conn_, cids.data());
  std::vector<std::vector<std::uint8_t>> out;
  for (const auto& c : cids) out.emplace_back(c.data, c.data + c.datalen);
  return out;
}

}  // namespace lanspread::transport
