// Interfaces for the sans-IO discovery tests.
#pragma once

#include "discovery/interfaces.hpp"

#include <boost/asio/ip/address.hpp>

#include <string>

namespace lanspread::discovery::testing {

inline NetInterface iface(unsigned index, const char* v4, const char* v6) {
  NetInterface i;
  i.name = "eth" + std::to_string(index);
  i.index = index;
  i.v4.push_back(boost::asio::ip::make_address_v4(v4));
  i.v6.push_back(boost::asio::ip::make_address_v6(v6));
  return i;
}

}  // namespace lanspread::discovery::testing
