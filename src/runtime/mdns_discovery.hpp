// The production PeerDiscovery: mDNS/DNS-SD from the discovery module.
#pragma once

#include "discovery/settings.hpp"
#include "runtime/peer_discovery.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <memory>

namespace lanspread::runtime {

std::unique_ptr<PeerDiscovery> make_mdns_discovery(boost::asio::any_io_executor executor,
                                                   discovery::Settings settings);

}  // namespace lanspread::runtime
