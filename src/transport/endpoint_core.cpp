#include "transport/endpoint_core.hpp"

#include <gnutls/crypto.h>
#include <ngtcp2/ngtcp2.h>
#include <ngtcp2/ngtcp2_crypto.h>

#include <algorithm>
#include <chrono>
#include <cstring>

namespace lanspread::transport {
namespace {

constexpr ngtcp2_duration kRetryTokenLifetime = 10 * NGTCP2_SECONDS;

std::uint64_t wall_clock_ns() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

EndpointCore::CidKey EndpointCore::key_of(const std::uint8_t* data, std::size_t len) {
  CidKey k;
  k.len = static_cast<std::uint8_t>(std::min(len, k.bytes.size()));
  std::memcpy(k.bytes.data(), data, k.len);
  return k;
}

EndpointCore::EndpointCore(TransportSettings settings, std::shared_ptr<const Identity> identity)
    : settings_(std::move(settings)),
      identity_(std::move(identity)),
      budget_(settings_.send_budget, settings_.send_budget_per_host),
      slots_(settings_.max_incoming, settings_.max_outgoing, settings_.max_incoming_per_host) {
  gnutls_rnd(GNUTLS_RND_KEY, token_secret_.data(), token_secret_.size());
}

EndpointCore::~EndpointCore() = default;

void EndpointCore::add_route(const CidKey& key, ConnectionCore* c) {
  routes_[key] = c;
  keys_[c].push_back(key);
}

EndpointCore::Received EndpointCore::on_datagram(const Path& path, unsigned ecn,
                                                 std::span<const std::uint8_t> data, Timestamp now,
                                                 std::vector<StatelessPacket>& out) {
  // ngtcp2 asserts on an empty buffer; a zero-length datagram is never QUIC anyway.
  if (data.empty()) return {};
  ngtcp2_version_cid vc;
  const int rv = ngtcp2_pkt_decode_version_cid(&vc, data.data(), data.size(), kConnectionIdLen);
  if (rv == NGTCP2_ERR_VERSION_NEGOTIATION) {
    if (!accepting_) return {};
    StatelessPacket p{path, std::vector<std::uint8_t>(NGTCP2_MAX_UDP_PAYLOAD_SIZE)};
    std::uint8_t unused_random = 0;
    gnutls_rnd(GNUTLS_RND_NONCE, &unused_random, 1);
    const std::uint32_t versions[] = {NGTCP2_PROTO_VER_V1};
    const ngtcp2_ssize n =
        ngtcp2_pkt_write_version_negotiation(p.data.data(), p.data.size(), unused_random, vc.scid,
                                             vc.scidlen, vc.dcid, vc.dcidlen, versions, 1);
    if (n > 0) {
      p.data.resize(static_cast<std::size_t>(n));
      out.push_back(std::move(p));
    }
    return {};
  }
  if (rv != 0) return {};  // not QUIC, or truncated: ignore

  if (auto it = routes_.find(key_of(vc.dcid, vc.dcidlen)); it != routes_.end()) {
    ConnectionCore* c = it->second;
    (void)c->on_datagram(path, ecn, data, now);
    sync_ids(c);
    return {c, false};
  }

  // An unknown connection id: only a client's first Initial may create a connection.
  // Slots: a source address over its cap is dropped before a Retry costs anything; when
  // all slots are taken a newcomer may evict (ConnectionSlots::admit_incoming).
  if (!accepting_) return {};
  const Host host = Host::of(path.remote);
  const ConnectionSlots::Decision slot = slots_.admit_incoming(host);
  if (!slot.admit) return {};
  ngtcp2_pkt_hd hd;
  if (ngtcp2_accept(&hd, data.data(), data.size()) != 0) return {};

  ngtcp2_cid original_dcid;
  const ngtcp2_cid* odcid = nullptr;
  if (settings_.validate_address) {
    const bool retry_token =
        hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY;
    if (retry_token && ngtcp2_crypto_verify_retry_token(
                           &original_dcid, hd.token.base, hd.token.len, token_secret_.data(),
                           token_secret_.size(), hd.version, path.remote.sa(), path.remote.len,
                           &hd.dcid, kRetryTokenLifetime, wall_clock_ns()) == 0) {
      odcid = &original_dcid;
    } else if (retry_token) {
      return {};  // forged or expired: drop, the client will time out
    } else {
      // First contact: prove the address is real before spending a TLS handshake on it.
      ngtcp2_cid scid;
      scid.datalen = kConnectionIdLen;
      gnutls_rnd(GNUTLS_RND_RANDOM, scid.data, scid.datalen);
      std::uint8_t token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
      const ngtcp2_ssize tokenlen = ngtcp2_crypto_generate_retry_token(
          token, token_secret_.data(), token_secret_.size(), hd.version, path.remote.sa(),
          path.remote.len, &scid, &hd.dcid, wall_clock_ns());
      if (tokenlen < 0) return {};
      StatelessPacket p{path, std::vector<std::uint8_t>(std::min<std::size_t>(
                                  NGTCP2_MAX_UDP_PAYLOAD_SIZE, data.size() * 3))};
      const ngtcp2_ssize n =
          ngtcp2_crypto_write_retry(p.data.data(), p.data.size(), hd.version, &hd.scid, &scid,
                                    &hd.dcid, token, static_cast<std::size_t>(tokenlen));
      if (n > 0) {
        p.data.resize(static_cast<std::size_t>(n));
        out.push_back(std::move(p));
      }
      return {};
    }
  } else {
    hd.token.base = nullptr;
    hd.token.len = 0;
  }

  auto created = ConnectionCore::server(settings_, identity_, hd, odcid, path, now);
  if (!created) return {};
  ConnectionCore* c = created->get();
  if (slot.evict != nullptr) {
    auto victim = const_cast<ConnectionCore*>(static_cast<const ConnectionCore*>(slot.evict));
    victim->close(kAppConnectionLimit);
    slots_.remove(victim);
    evicted_.push_back(victim);
  }
  c->attach_budget(&budget_, host);
  slots_.add(c, host, true);
  connections_.emplace(c, std::move(*created));
  add_route(key_of(vc.dcid, vc.dcidlen), c);  // the client's chosen id, until it switches
  (void)c->on_datagram(path, ecn, data, now);
  sync_ids(c);
  for (const auto& id : c->source_ids()) add_route(key_of(id.data(), id.size()), c);
  return {c, true};
}

result<ConnectionCore*> EndpointCore::connect(const Path& path, const std::string& expected_peer_id,
                                              Timestamp now) {
  if (!accepting_) return errc::connection_refused;
  if (!slots_.admit_outgoing()) return errc::connection_refused;
  auto created = ConnectionCore::client(settings_, identity_, expected_peer_id, path, now);
  if (!created) return created.error();
  ConnectionCore* c = created->get();
  c->attach_budget(&budget_, Host::of(path.remote));
  slots_.add(c, Host::of(path.remote), false);
  connections_.emplace(c, std::move(*created));
  for (const auto& id : c->source_ids()) add_route(key_of(id.data(), id.size()), c);
  sync_ids(c);
  return c;
}

void EndpointCore::sync_ids(ConnectionCore* c) {
  if (c->established()) slots_.proven(c, c->peer_id());
  for (const auto& id : c->take_new_ids()) add_route(key_of(id.data(), id.size()), c);
  for (const auto& id : c->take_retired_ids()) {
    const CidKey key = key_of(id.data(), id.size());
    if (auto it = routes_.find(key); it != routes_.end() && it->second == c) routes_.erase(it);
  }
}

void EndpointCore::remove(ConnectionCore* c) {
  if (auto it = keys_.find(c); it != keys_.end()) {
    for (const auto& key : it->second) {
      if (auto r = routes_.find(key); r != routes_.end() && r->second == c) routes_.erase(r);
    }
    keys_.erase(it);
  }
  slots_.remove(c);
  std::erase(evicted_, c);
  connections_.erase(c);
}

}  // namespace lanspread::transport
