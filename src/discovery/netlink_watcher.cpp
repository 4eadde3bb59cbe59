#include "discovery/netlink_watcher.hpp"

#include <cerrno>
#include <cstring>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

namespace lanspread::discovery {
namespace {

// Link and address notifications are a few hundred bytes each; the kernel batches several
// into one datagram, never more than a page or so. A larger datagram is truncated and only
// counts as "something changed".
constexpr std::size_t kBufferSize = 32 * 1024;
constexpr int kDatagramsPerEvent = 64;

}  // namespace

bool netlink_reports_change(std::span<const std::uint8_t> datagram) {
  // The walk NLMSG_OK/NLMSG_NEXT describe, with every length checked against what is left
  // before it is used, and headers copied out (the bytes need not be aligned).
  bool changed = false;
  std::size_t offset = 0;
  while (datagram.size() - offset >= sizeof(nlmsghdr)) {
    nlmsghdr h{};
    std::memcpy(&h, datagram.data() + offset, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > datagram.size() - offset) break;
    switch (h.nlmsg_type) {
      case RTM_NEWLINK:
      case RTM_DELLINK:
        if (h.nlmsg_len >= NLMSG_LENGTH(sizeof(ifinfomsg))) changed = true;
        break;
      case RTM_NEWADDR:
      case RTM_DELADDR:
        if (h.nlmsg_len >= NLMSG_LENGTH(sizeof(ifaddrmsg))) changed = true;
        break;
      default:
        break;  // NLMSG_DONE, NLMSG_NOOP, errors, other families' messages: nothing to do
    }
    const std::size_t step = NLMSG_ALIGN(h.nlmsg_len);
    if (step > datagram.size() - offset) break;
    offset += step;
  }
  return changed;
}

result<std::shared_ptr<NetlinkWatcher>> NetlinkWatcher::open(const boost::asio::any_io_executor& ex,
                                                             std::chrono::milliseconds coalesce,
                                                             std::function<void()> on_change) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
  if (fd < 0) return errc::socket_setup;
  sockaddr_nl local{};
  local.nl_family = AF_NETLINK;
  local.nl_groups = RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR;
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&local), sizeof local) != 0) {
    ::close(fd);
    return errc::socket_setup;
  }
  return std::shared_ptr<NetlinkWatcher>(
      new NetlinkWatcher(ex, fd, coalesce, std::move(on_change)));
}

NetlinkWatcher::NetlinkWatcher(const boost::asio::any_io_executor& ex, int fd,
                               std::chrono::milliseconds coalesce, std::function<void()> on_change)
    : socket_(ex, fd),
      debounce_(ex),
      coalesce_(coalesce),
      on_change_(std::move(on_change)),
      buffer_(kBufferSize) {}

void NetlinkWatcher::start() {
  wait_readable();
}

void NetlinkWatcher::wait_readable() {
  socket_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& ec) {
                       if (ec || self->closed_) return;
                       self->drain();
                       if (!self->closed_) self->wait_readable();
                     });
}

void NetlinkWatcher::drain() {
  bool changed = false;
  for (int i = 0; i < kDatagramsPerEvent; ++i) {
    sockaddr_nl from{};
    iovec iov{buffer_.data(), buffer_.size()};
    msghdr msg{};
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    const ssize_t n = ::recvmsg(socket_.native_handle(), &msg, MSG_DONTWAIT);
    if (n < 0) {
      // ENOBUFS: the kernel dropped notifications we were too slow for; rescan to catch up.
      if (errno == ENOBUFS) changed = true;
      if (errno == EINTR || errno == ENOBUFS) continue;
      break;  // EAGAIN: drained
    }
    // Only the kernel (port id 0) speaks for the interfaces; another process could send us
    // datagrams on this socket too.
    if (msg.msg_namelen != sizeof from || from.nl_family != AF_NETLINK || from.nl_pid != 0)
      continue;
    if ((msg.msg_flags & MSG_TRUNC) != 0) {
      changed = true;
      continue;
    }
    if (netlink_reports_change({buffer_.data(), static_cast<std::size_t>(n)})) changed = true;
  }
  if (!changed || pending_) return;
  pending_ = true;
  debounce_.expires_after(coalesce_);
  debounce_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    self->pending_ = false;
    if (ec || self->closed_) return;
    if (self->on_change_) self->on_change_();
  });
}

void NetlinkWatcher::close() {
  closed_ = true;
  on_change_ = nullptr;
  debounce_.cancel();
  boost::system::error_code ec;
  socket_.close(ec);
}

}  // namespace lanspread::discovery
