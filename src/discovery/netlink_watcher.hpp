// Follows the kernel's interface and address changes (rtnetlink: RTMGRP_LINK,
// RTMGRP_IPV4_IFADDR, RTMGRP_IPV6_IFADDR) and calls back when something changed, so mDNS
// starts on an interface the moment it becomes usable instead of at the next periodic rescan.
//
// It only says *that* something changed; what is usable is read again with
// enumerate_interfaces(). Every datagram is read into a bounded buffer, must come from the
// kernel (nl_pid 0), and its messages must be well formed (NLMSG_OK); anything else is
// dropped. At most 64 datagrams are read per readiness event, and callbacks are coalesced
// over a short delay, so a burst of changes costs one rescan.
//
// Threading: the executor given to open(); no call blocks. Linux only: open() fails
// elsewhere and the caller keeps polling.
#pragma once

#include "discovery/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace lanspread::discovery {

// Whether a datagram read from an rtnetlink socket announces a link or address change.
// Pure, so the validation can be tested with hand-made bytes (and fuzzed).
bool netlink_reports_change(std::span<const std::uint8_t> datagram);

class NetlinkWatcher : public std::enable_shared_from_this<NetlinkWatcher> {
 public:
  static result<std::shared_ptr<NetlinkWatcher>> open(const boost::asio::any_io_executor& ex,
                                                      std::chrono::milliseconds coalesce,
                                                      std::function<void()> on_change);
  void start();
  void close();

 private:
  NetlinkWatcher(const boost::asio::any_io_executor& ex, int fd, std::chrono::milliseconds coalesce,
                 std::function<void()> on_change);
  void wait_readable();
  void drain();

  boost::asio::posix::stream_descriptor socket_;
  boost::asio::steady_timer debounce_;
  std::chrono::milliseconds coalesce_;
  std::function<void()> on_change_;
  std::vector<std::uint8_t> buffer_;
  bool pending_ = false;
  bool closed_ = false;
};

}  // namespace lanspread::discovery
