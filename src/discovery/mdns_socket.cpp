#include "discovery/mdns_socket.hpp"

#include "discovery/limits.hpp"

#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/v6_only.hpp>

#include <cerrno>
#include <cstring>

#include <netinet/in.h>
#include <sys/socket.h>

namespace lanspread::discovery {
namespace {

namespace ip = boost::asio::ip;

bool set_int(int fd, int level, int name, int value) {
  return ::setsockopt(fd, level, name, &value, sizeof(value)) == 0;
}

}  // namespace

MdnsSocket::MdnsSocket(const boost::asio::any_io_executor& ex, unsigned ifindex, bool ipv6,
                       std::uint16_t port, Receiver receiver)
    : socket_(ex),
      ifindex_(ifindex),
      ipv6_(ipv6),
      group_(ipv6 ? ip::udp::endpoint(ip::address_v6(kMdnsGroupV6.to_bytes(), ifindex), port)
                  : ip::udp::endpoint(kMdnsGroupV4, port)),
      receiver_(std::move(receiver)),
      buffer_(kMaxPacketSize + 1) {}

result<std::shared_ptr<MdnsSocket>> MdnsSocket::open(const boost::asio::any_io_executor& ex,
                                                     const NetInterface& iface, bool ipv6,
                                                     std::uint16_t port, Receiver receiver) {
  if (ipv6 ? iface.v6.empty() : iface.v4.empty()) return errc::no_interface;
  std::shared_ptr<MdnsSocket> s(new MdnsSocket(ex, iface.index, ipv6, port, std::move(receiver)));
  auto& sock = s->socket_;
  boost::system::error_code ec;
  sock.open(ipv6 ? ip::udp::v6() : ip::udp::v4(), ec);
  if (ec) return ec;
  const int fd = sock.native_handle();
  sock.set_option(ip::udp::socket::reuse_address(true), ec);
  if (ec) return errc::socket_setup;
  // Several processes (and our own per-interface sockets) share port 5353.
  if (!set_int(fd, SOL_SOCKET, SO_REUSEPORT, 1)) return errc::socket_setup;
  if (ipv6) {
    sock.set_option(ip::v6_only(true), ec);
    if (ec) return errc::socket_setup;
    if (!set_int(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) return errc::socket_setup;
    sock.bind(ip::udp::endpoint(ip::address_v6::any(), port), ec);
    if (ec) return errc::socket_setup;
    ipv6_mreq mreq{};
    std::memcpy(&mreq.ipv6mr_multiaddr, kMdnsGroupV6.to_bytes().data(), 16);
    mreq.ipv6mr_interface = iface.index;
    if (::setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mreq, sizeof(mreq)) != 0 &&
        errno != EADDRINUSE)
      return errc::socket_setup;
    if (!set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, static_cast<int>(iface.index)) ||
        !set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255) ||
        !set_int(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255) ||
        !set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 1))
      return errc::socket_setup;
#ifdef IPV6_MULTICAST_ALL
    set_int(fd, IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0);  // best effort; PKTINFO filters anyway
#endif
  } else {
    if (!set_int(fd, IPPROTO_IP, IP_PKTINFO, 1)) return errc::socket_setup;
    sock.bind(ip::udp::endpoint(ip::address_v4::any(), port), ec);
    if (ec) return errc::socket_setup;
    ip_mreqn mreq{};
    mreq.imr_multiaddr.s_addr = htonl(kMdnsGroupV4.to_uint());
    mreq.imr_ifindex = static_cast<int>(iface.index);
    if (::setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0 &&
        errno != EADDRINUSE)
      return errc::socket_setup;
    ip_mreqn out{};
    out.imr_ifindex = static_cast<int>(iface.index);
    if (::setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &out, sizeof(out)) != 0 ||
        !set_int(fd, IPPROTO_IP, IP_MULTICAST_TTL, 255) || !set_int(fd, IPPROTO_IP, IP_TTL, 255) ||
        !set_int(fd, IPPROTO_IP, IP_MULTICAST_LOOP, 1))
      return errc::socket_setup;
#ifdef IP_MULTICAST_ALL
    set_int(fd, IPPROTO_IP, IP_MULTICAST_ALL, 0);
#endif
  }
  sock.non_blocking(true, ec);
  if (ec) return errc::socket_setup;
  return s;
}

void MdnsSocket::start() {
  wait_readable();
}

void MdnsSocket::wait_readable() {
  socket_.async_wait(ip::udp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (ec) return;  // closed
                       self->drain();
                       if (self->socket_.is_open()) self->wait_readable();
                     });
}

void MdnsSocket::drain() {
  // Bounded: a flood cannot keep the network thread here forever.
  for (int i = 0; i < 64 && socket_.is_open(); ++i) {
    sockaddr_storage from{};
    iovec iov{buffer_.data(), buffer_.size()};
    alignas(cmsghdr) unsigned char control[256];
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof(from);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    const ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
    if (n < 0) return;  // EAGAIN, or an error the next wait will report again
    if ((msg.msg_flags & MSG_TRUNC) != 0 || static_cast<std::size_t>(n) > kMaxPacketSize) continue;
    unsigned arrived_on = 0;
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
        in_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        arrived_on = static_cast<unsigned>(info.ipi_ifindex);
      } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
        in6_pktinfo info{};
        std::memcpy(&info, CMSG_DATA(c), sizeof(info));
        arrived_on = info.ipi6_ifindex;
      }
    }
    // Every socket is bound to the wildcard address, so the kernel hands it packets of all
    // interfaces; only the socket of the arrival interface answers.
    if (arrived_on != ifindex_) continue;
    ip::udp::endpoint source;
    if (from.ss_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(&from);
      source = ip::udp::endpoint(ip::address_v4(ntohl(sin->sin_addr.s_addr)), ntohs(sin->sin_port));
    } else if (from.ss_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&from);
      ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      source = ip::udp::endpoint(ip::address_v6(b, sin6->sin6_scope_id), ntohs(sin6->sin6_port));
    } else {
      continue;
    }
    receiver_(std::span<const std::uint8_t>(buffer_.data(), static_cast<std::size_t>(n)), source);
  }
}

void MdnsSocket::send_multicast(Buffer data, std::function<void()> done) {
  send_to(std::move(data), group_, std::move(done));
}

void MdnsSocket::send_to(Buffer data, const ip::udp::endpoint& to, std::function<void()> done) {
  if (!socket_.is_open()) {
    if (done) done();
    return;
  }
  auto buffer = boost::asio::buffer(*data);
  socket_.async_send_to(buffer, to,
                        [self = shared_from_this(), data = std::move(data), done = std::move(done)](
                            const boost::system::error_code&, std::size_t) {
                          // A failed send (link down) is retried by the schedule, not here.
                          if (done) done();
                        });
}

void MdnsSocket::close() {
  boost::system::error_code ec;
  socket_.close(ec);
}

}  // namespace lanspread::discovery
