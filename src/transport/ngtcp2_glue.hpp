// Internal to the transport: conversions between ngtcp2's types and ours.
#pragma once

#include "transport/connection_core.hpp"

#include <ngtcp2/ngtcp2.h>

#include <chrono>

namespace lanspread::transport {

inline ngtcp2_path to_ngtcp2(const Path& p) {
  return ngtcp2_path{{const_cast<sockaddr*>(p.local.sa()), p.local.len},
                     {const_cast<sockaddr*>(p.remote.sa()), p.remote.len},
                     nullptr};
}

inline Path from_ngtcp2(const ngtcp2_path& p) {
  return Path{Address::from(p.local.addr, p.local.addrlen),
              Address::from(p.remote.addr, p.remote.addrlen)};
}

inline Timestamp to_ns(std::chrono::milliseconds ms) {
  return static_cast<Timestamp>(ms.count()) * NGTCP2_MILLISECONDS;
}

}  // namespace lanspread::transport
