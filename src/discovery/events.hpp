// What the browser reports. Plain structs so a runtime can forward them as its own events.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace lanspread::discovery {

struct Peer {
  std::string id;        // TXT `id`
  std::string instance;  // DNS-SD instance label, e.g. "alice-pc-3f9a2c1b"
  std::string host;      // SRV target, e.g. "alice-pc-3f9a2c1b.local"
  std::vector<boost::asio::ip::address> addresses;  // IPv6 link-local ones carry a scope id
  std::uint16_t port = 0;                           // SRV port (the peer's QUIC port)
  std::map<std::string, std::string> txt;           // every TXT key, including v, id, rev
  std::vector<std::string> interfaces;              // where it was seen

  friend bool operator==(const Peer&, const Peer&) = default;
};

struct PeerSeen {
  Peer peer;
};
struct PeerChanged {
  Peer peer;
};
struct PeerLost {
  std::string id;
  std::string instance;
};
using Event = std::variant<PeerSeen, PeerChanged, PeerLost>;

}  // namespace lanspread::discovery
