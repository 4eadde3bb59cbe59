#include "transport/udp_socket.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace lanspread::transport {

UdpSocket::UdpSocket(UdpSocket&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)),
      local_(o.local_),
      stats_(o.stats_),
      rx_buffer_(std::move(o.rx_buffer_)) {}

UdpSocket& UdpSocket::operator=(UdpSocket&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
    local_ = o.local_;
    stats_ = o.stats_;
    rx_buffer_ = std::move(o.rx_buffer_);
  }
  return *this;
}

UdpSocket::~UdpSocket() {
  if (fd_ >= 0) ::close(fd_);
}

result<UdpSocket> UdpSocket::open(const Address& address, int buffer_bytes) {
  const int family = address.storage.ss_family;
  const int fd = ::socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return errc::socket_failed;
  UdpSocket s;
  s.fd_ = fd;
  const int on = 1;
  if (family == AF_INET6) {
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &on, sizeof on);
    const int mtu = IPV6_PMTUDISC_DO;
    ::setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &mtu, sizeof mtu);
  } else {
    ::setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &on, sizeof on);
    ::setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &on, sizeof on);
    // QUIC does its own path MTU discovery: never let the kernel fragment.
    const int mtu = IP_PMTUDISC_DO;
    ::setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &mtu, sizeof mtu);
  }
  // Ask for big buffers; the kernel caps them at net.core.[rw]mem_max unless we are
  // privileged (SO_*BUFFORCE). What it granted is recorded, not assumed.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer_bytes, sizeof buffer_bytes);
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buffer_bytes, sizeof buffer_bytes) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buffer_bytes, sizeof buffer_bytes);
  socklen_t len = sizeof s.stats_.rcvbuf;
  ::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s.stats_.rcvbuf, &len);
  len = sizeof s.stats_.sndbuf;
  ::getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s.stats_.sndbuf, &len);
  s.stats_.gro = ::setsockopt(fd, IPPROTO_UDP, UDP_GRO, &on, sizeof on) == 0;
  int probe = 0;
  len = sizeof probe;
  s.stats_.gso = ::getsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &probe, &len) == 0;

  if (::bind(fd, address.sa(), address.len) != 0) return errc::socket_failed;
  s.local_.len = sizeof s.local_.storage;
  if (::getsockname(fd, s.local_.sa(), &s.local_.len) != 0) return errc::socket_failed;
  return s;
}

UdpSocket::SendResult UdpSocket::send(const Path& path, unsigned ecn,
                                      std::span<const std::uint8_t> data,
                                      std::size_t segment_size) {
  const bool use_gso = stats_.gso && data.size() > segment_size;
  if (!use_gso && data.size() > segment_size) {
    // No GSO: one datagram at a time.
    for (std::size_t off = 0; off < data.size(); off += segment_size) {
      const auto r = send(path, ecn, data.subspan(off, std::min(segment_size, data.size() - off)),
                          segment_size);
      if (r != SendResult::sent) return r;  // a partial batch is lost traffic QUIC recovers
    }
    return SendResult::sent;
  }
  iovec iov{const_cast<std::uint8_t*>(data.data()), data.size()};
  alignas(cmsghdr)
      std::uint8_t control[CMSG_SPACE(sizeof(std::uint16_t)) + CMSG_SPACE(sizeof(int)) +
                           CMSG_SPACE(sizeof(in6_pktinfo))] = {};
  msghdr msg{};
  msg.msg_name = const_cast<sockaddr*>(path.remote.sa());
  msg.msg_namelen = path.remote.len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cm = CMSG_FIRSTHDR(&msg);
  std::size_t used = 0;
  const bool v6 = path.remote.storage.ss_family == AF_INET6;
  if (ecn != 0) {
    cm->cmsg_level = v6 ? IPPROTO_IPV6 : IPPROTO_IP;
    cm->cmsg_type = v6 ? IPV6_TCLASS : IP_TOS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    const int tos = static_cast<int>(ecn);
    std::memcpy(CMSG_DATA(cm), &tos, sizeof tos);
    used += CMSG_SPACE(sizeof(int));
    cm = CMSG_NXTHDR(&msg, cm);
  }
  if (use_gso) {
    cm->cmsg_level = IPPROTO_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const auto seg = static_cast<std::uint16_t>(segment_size);
    std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
    used += CMSG_SPACE(sizeof(std::uint16_t));
  }
  msg.msg_controllen = used;
  if (used == 0) msg.msg_control = nullptr;
  for (;;) {
    if (::sendmsg(fd_, &msg, 0) >= 0) return SendResult::sent;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return SendResult::would_block;
    if (errno == EIO && use_gso) {
      // The device cannot segment (e.g. no checksum offload): turn GSO off for good.
      stats_.gso = false;
      return send(path, ecn, data, segment_size);
    }
    return SendResult::failed;  // e.g. no route; QUIC treats it as loss
  }
}

std::size_t UdpSocket::receive_raw(Address& remote, Address& local, unsigned& ecn,
                                   std::size_t& gro_size) {
  iovec iov{rx_buffer_.data(), rx_buffer_.size()};
  alignas(cmsghdr) std::uint8_t control[256];
  msghdr msg{};
  msg.msg_name = remote.sa();
  msg.msg_namelen = sizeof remote.storage;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n;
  do {
    n = ::recvmsg(fd_, &msg, 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == ENOMEM || errno == ENOBUFS)) starved_ = true;
  if (n <= 0) return 0;  // EAGAIN, or an error we cannot act on (ICMP errors surface here)
  remote.len = msg.msg_namelen;
  local = local_;
  ecn = 0;
  gro_size = 0;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO) {
      in_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      auto* in = reinterpret_cast<sockaddr_in*>(&local.storage);
      in->sin_addr = pi.ipi_addr;
    } else if (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_PKTINFO) {
      in6_pktinfo pi;
      std::memcpy(&pi, CMSG_DATA(cm), sizeof pi);
      auto* in6 = reinterpret_cast<sockaddr_in6*>(&local.storage);
      in6->sin6_addr = pi.ipi6_addr;
    } else if ((cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_TOS) ||
               (cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_TCLASS)) {
      std::uint8_t tos = 0;
      std::memcpy(&tos, CMSG_DATA(cm), 1);
      ecn = tos & 0x3;
    } else if (cm->cmsg_level == IPPROTO_UDP && cm->cmsg_type == UDP_GRO) {
      int seg = 0;
      std::memcpy(&seg, CMSG_DATA(cm), sizeof seg);
      gro_size = static_cast<std::size_t>(seg);
    }
  }
  return static_cast<std::size_t>(n);
}

}  // namespace lanspread::transport
