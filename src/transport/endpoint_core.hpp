// The sans-IO side of a UDP endpoint that both serves and dials: routes datagrams to
// connections by connection id, accepts new clients (with Retry address validation),
// answers unknown versions, and keeps the routing table in step with each connection's ids.
#pragma once

#include "transport/connection_core.hpp"

#include <map>
#include <memory>
#include <unordered_map>
#include <vector>

namespace lanspread::transport {

struct StatelessPacket {
  Path path;
  std::vector<std::uint8_t> data;
};

class EndpointCore {
 public:
  EndpointCore(TransportSettings settings, std::shared_ptr<const Identity> identity);
  ~EndpointCore();

  struct Received {
    ConnectionCore* connection = nullptr;  // who got the datagram, if anyone
    bool accepted = false;                 // `connection` is a new incoming one
  };
  // Routes one datagram. Retry and version-negotiation answers are appended to `out`.
  Received on_datagram(const Path& path, unsigned ecn, std::span<const std::uint8_t> data,
                       Timestamp now, std::vector<StatelessPacket>& out);

  result<ConnectionCore*> connect(const Path& path, const std::string& expected_peer_id,
                                  Timestamp now);

  // Registers ids the connection issued and drops retired ones; call after driving it.
  void sync_ids(ConnectionCore* c);
  // Forgets a closed connection and all its ids.
  void remove(ConnectionCore* c);

  std::size_t connection_count() const { return connections_.size(); }
  const ConnectionSlots& slots() const { return slots_; }
  const SendBudget& send_budget() const { return budget_; }
  // True once after the shared send budget freed room that a writer was refused.
  bool take_budget_released() { return budget_.take_released(); }
  void settle_budget(bool still_waiting) { budget_.settle(still_waiting); }
  // Connections closed to make room for newcomers since the last call (drive them).
  std::vector<ConnectionCore*> take_evicted() { return std::exchange(evicted_, {}); }
  std::vector<ConnectionCore*> connections() const {
    std::vector<ConnectionCore*> out;
    for (const auto& [c, owned] : connections_) out.push_back(c);
    return out;
  }
  const TransportSettings& settings() const { return settings_; }
  const Identity& identity() const { return *identity_; }
  void stop_accepting() { accepting_ = false; }

 private:
  // A connection id as a map key, without allocating (ids are at most 20 bytes).
  struct CidKey {
    std::array<std::uint8_t, 20> bytes{};
    std::uint8_t len = 0;
    friend bool operator==(const CidKey&, const CidKey&) = default;
  };
  struct CidHash {
    std::size_t operator()(const CidKey& k) const noexcept {
      // Ids are random: their first bytes are a good hash.
      std::size_t h = k.len;
      for (std::size_t i = 0; i < k.len && i < sizeof(std::size_t); ++i) h = h << 8 | k.bytes[i];
      return h;
    }
  };
  static CidKey key_of(const std::uint8_t* data, std::size_t len);
  void add_route(const CidKey& key, ConnectionCore* c);

  TransportSettings settings_;
  std::shared_ptr<const Identity> identity_;
  std::array<std::uint8_t, 32> token_secret_{};
  // Before connections_: connections give their budget back when destroyed.
  SendBudget budget_;
  ConnectionSlots slots_;
  std::vector<ConnectionCore*> evicted_;
  std::unordered_map<CidKey, ConnectionCore*, CidHash> routes_;
  std::map<ConnectionCore*, std::unique_ptr<ConnectionCore>> connections_;
  std::map<ConnectionCore*, std::vector<CidKey>> keys_;  // every route of a connection
  bool accepting_ = true;
};

}  // namespace lanspread::transport
