// ConnectionCore's identity checks: the peer's certificate against the id it was dialled as,
// and the party-key proof exchanged once the TLS handshake is done (docs/security.md).
#include "transport/connection_core.hpp"

#include "transport/stream_state.hpp"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <ngtcp2/ngtcp2.h>

namespace lanspread::transport {

namespace {
const char kPartyExporterLabel[] = "EXPORTER-lanspread-party";
}  // namespace

// ---- identity and party key -------------------------------------------------------------

bool ConnectionCore::verify_peer_certificate() {
  auto* session = static_cast<gnutls_session_t>(tls_);
  unsigned count = 0;
  const gnutls_datum_t* certs = gnutls_certificate_get_peers(session, &count);
  if (certs == nullptr || count == 0) return false;
  peer_id_ = peer_id_of(certs[0].data, certs[0].size);
  if (!server_ && !expected_peer_id_.empty() && peer_id_ != expected_peer_id_) {
    peer_id_mismatch_ = true;
    return false;
  }
  return true;
}

std::array<std::uint8_t, 32> ConnectionCore::party_proof(bool from_server) const {
  // Bound to this TLS session through the exporter, so a proof cannot be replayed on another
  // connection; the role byte keeps a side from reflecting the other's proof.
  std::array<std::uint8_t, 33> input{};
  input[0] = from_server ? 's' : 'c';
  gnutls_prf_rfc5705(static_cast<gnutls_session_t>(tls_), sizeof(kPartyExporterLabel) - 1,
                     kPartyExporterLabel, 0, nullptr, 32,
                     reinterpret_cast<char*>(input.data() + 1));
  std::array<std::uint8_t, 32> out{};
  gnutls_hmac_fast(GNUTLS_MAC_SHA256, settings_.party_key->data(), settings_.party_key->size(),
                   input.data(), input.size(), out.data());
  return out;
}

void ConnectionCore::on_handshake_completed() {
  if (!settings_.party_key) {
    set_established();
    return;
  }
  std::int64_t id = -1;
  if (ngtcp2_conn_open_uni_stream(conn_, &id, nullptr) != 0) {
    // The peer allows no proof stream: it runs without a party key.
    fail(errc::party_key_rejected, true);
    return;
  }
  StreamState& s = add_stream(id);
  s.party = true;
  if (settings_.send_party_proof) {
    const auto proof = party_proof(server_);
    s.tx.append(proof);
    s.fin_requested = true;
    schedule_send(s);
  }
  party_tx_stream_ = id;
  if (party_pending_) check_party_proof();
}

void ConnectionCore::check_party_proof() {
  party_pending_ = false;
  if (!handshake_completed_ || party_ok_ || state_ != State::open) return;
  const auto expected = party_proof(!server_);
  if (party_rx_.size() != expected.size() ||
      gnutls_memcmp(party_rx_.data(), expected.data(), expected.size()) != 0) {
    fail(errc::party_key_rejected, true);
    return;
  }
  party_ok_ = true;
  ngtcp2_conn_extend_max_streams_bidi(conn_, settings_.max_streams_bidi);
  set_established();
}

void ConnectionCore::set_established() {
  established_ = true;
  last_used_ = last_now_;
  events_.push_back({CoreEvent::handshake_done});
}

}  // namespace lanspread::transport
