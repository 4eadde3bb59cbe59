// Enumeration of the network interfaces mDNS runs on.
#pragma once

#include "discovery/settings.hpp"

#include <boost/asio/ip/address_v4.hpp>
#include <boost/asio/ip/address_v6.hpp>

#include <string>
#include <vector>

namespace lanspread::discovery {

struct NetInterface {
  std::string name;
  unsigned index = 0;
  bool loopback = false;
  bool is_virtual = false;
  std::vector<boost::asio::ip::address_v4> v4;
  std::vector<boost::asio::ip::address_v6> v6;  // without scope ids

  friend bool operator==(const NetInterface&, const NetInterface&) = default;
};

// Interfaces that are up, multicast-capable, have an address, and pass `policy`.
// Sorted by index. Reads the OS tables; does not block on the network.
std::vector<NetInterface> enumerate_interfaces(const InterfacePolicy& policy);

// Whether `name` is a container or VM bridge of this host (docker0, virbr0, br-<hex>, ...),
// skipped unless the policy includes virtual interfaces.
bool looks_virtual(const std::string& name);

// Pure filter used by enumerate_interfaces (kept separate so it can be unit tested).
bool interface_allowed(const NetInterface& iface, const InterfacePolicy& policy);

}  // namespace lanspread::discovery
