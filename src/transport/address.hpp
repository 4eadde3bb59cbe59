// Socket addresses and paths as plain values (no Asio, no ngtcp2 types).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace lanspread::transport {

struct Address {
  sockaddr_storage storage{};
  socklen_t len = 0;

  const sockaddr* sa() const { return reinterpret_cast<const sockaddr*>(&storage); }
  sockaddr* sa() { return reinterpret_cast<sockaddr*>(&storage); }
  std::string to_string() const;
  static Address from(const sockaddr* sa, socklen_t len) {
    Address a;
    std::memcpy(&a.storage, sa, len);
    a.len = len;
    return a;
  }
  friend bool operator==(const Address& a, const Address& b) {
    return a.len == b.len && std::memcmp(&a.storage, &b.storage, a.len) == 0;
  }
};

struct Path {
  Address local;
  Address remote;
};

}  // namespace lanspread::transport
