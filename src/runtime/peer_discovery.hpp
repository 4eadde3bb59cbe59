// How the runtime finds peers, behind an interface: mDNS in production (mdns_discovery.hpp),
// a fake in unit tests.
#pragma once

#include "transport/address.hpp"

#include <boost/system/result.hpp>

#include <functional>
#include <string>
#include <vector>

namespace lanspread::runtime {

struct DiscoveredPeer {
  std::string id;
  std::string name;
  std::vector<transport::Address> addresses;  // with the peer's QUIC port
  std::uint64_t rev = 0;
};

class PeerDiscovery {
 public:
  struct Handlers {
    std::function<void(const DiscoveredPeer&)> seen;  // new or changed
    std::function<void(const std::string& id)> lost;
    // The interfaces in use changed (see status()).
    std::function<void()> changed;
  };
  struct Status {
    bool waiting_for_interface = false;  // started, but no usable interface yet
    std::vector<std::string> interfaces;
  };
  virtual ~PeerDiscovery() = default;
  // Advertises this peer and starts browsing. Handlers run on the network thread.
  virtual boost::system::result<void> start(const std::string& peer_id, const std::string& name,
                                            std::uint16_t port, std::uint64_t rev,
                                            Handlers handlers) = 0;
  virtual void update_rev(std::uint64_t rev) = 0;
  virtual Status status() const = 0;
  // Says goodbye, then calls `done` on the network thread.
  virtual void stop(std::function<void()> done) = 0;
};

}  // namespace lanspread::runtime
