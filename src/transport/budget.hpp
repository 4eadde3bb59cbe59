// The endpoint's shared budgets (docs/security.md, "QUIC transport and the game server"):
// connection slots, with a cap per source address and an eviction rule so that a few
// addresses cannot lock real peers out, and the send-buffer budget, in total and per source
// address. Plain bookkeeping: no ngtcp2, no clock, no IO.
#pragma once

#include "transport/address.hpp"

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace lanspread::transport {

// An IP address without its port: the unit of the per-source caps. IPv4 is kept as its
// IPv4-mapped IPv6 form, so one host counts once whichever family it uses.
struct Host {
  std::array<std::uint8_t, 16> bytes{};
  friend auto operator<=>(const Host&, const Host&) = default;
  static Host of(const Address& a);
};

// Bytes of stream data held for sending (queued or unacknowledged), charged per source
// address and in total. grant() never exceeds either; release() gives bytes back.
class SendBudget {
 public:
  SendBudget(std::uint64_t total, std::uint64_t per_host) : total_(total), per_host_(per_host) {}

  // Charges up to `want` bytes to `host`: as many as the total and the host's share allow.
  std::uint64_t grant(const Host& host, std::uint64_t want);
  void release(const Host& host, std::uint64_t bytes);
  std::uint64_t used() const { return used_; }
  std::uint64_t used_by(const Host& host) const;
  // What grant() would give `host` now.
  std::uint64_t room_for(const Host& host) const;
  // True once after bytes were released while someone waits for room: waiting writers of
  // hosts with room now retry. After waking them, settle(): whether writers still wait
  // (their host had no room) keeps later releases reported.
  bool take_released() { return std::exchange(released_, false); }
  void settle(bool still_waiting) { refused_ = still_waiting; }

 private:
  std::uint64_t total_;
  std::uint64_t per_host_;
  std::uint64_t used_ = 0;
  std::map<Host, std::uint64_t> by_host_;
  bool refused_ = false;
  bool released_ = false;
};

// Connection slots of an endpoint. Keys are opaque (the endpoint uses its ConnectionCore
// pointers). Incoming connections are capped in total and per source address; when the
// incoming slots are full, a newcomer evicts the newest connection of the address holding
// the most slots, if that address holds more than the newcomer's would (after admission)
// and the victim has not proved itself (handshake and party key) or is not a peer this
// endpoint dialled itself.
class ConnectionSlots {
 public:
  using Key = const void*;
  ConnectionSlots(std::size_t max_incoming, std::size_t max_outgoing, std::size_t per_host)
      : max_incoming_(max_incoming), max_outgoing_(max_outgoing), per_host_(per_host) {}

  struct Decision {
    bool admit = false;
    Key evict = nullptr;  // close this one first (admit is then true)
  };
  Decision admit_incoming(const Host& host) const;
  bool admit_outgoing() const { return outgoing_ < max_outgoing_; }

  void add(Key key, const Host& host, bool incoming);
  // The connection finished its handshake (and party-key proof) as `peer_id`.
  void proven(Key key, const std::string& peer_id);
  void remove(Key key);

  std::size_t incoming() const { return incoming_; }
  std::size_t outgoing() const { return outgoing_; }
  std::size_t incoming_from(const Host& host) const;

 private:
  struct Entry {
    Host host;
    std::uint64_t seq = 0;
    bool incoming = false;
    bool proven = false;
    std::string peer_id;
  };
  bool protected_peer(const Entry& e) const;

  std::size_t max_incoming_;
  std::size_t max_outgoing_;
  std::size_t per_host_;
  std::size_t incoming_ = 0;
  std::size_t outgoing_ = 0;
  std::uint64_t next_seq_ = 0;
  std::map<Key, Entry> entries_;
  std::map<Host, std::size_t> incoming_by_host_;
  std::multiset<std::string> dialled_peers_;  // peer ids of proven outgoing connections
};

}  // namespace lanspread::transport
