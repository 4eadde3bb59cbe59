// One UDP socket bound to the mDNS port, joined to the mDNS group on one interface, for one
// address family. Receives with the arrival interface checked (IP_PKTINFO), so a packet is
// handled once, by the socket of the interface it came in on.
#pragma once

#include "discovery/error.hpp"
#include "discovery/interfaces.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/udp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

namespace lanspread::discovery {

inline const boost::asio::ip::address_v4 kMdnsGroupV4 =
    boost::asio::ip::make_address_v4("224.0.0.251");
inline const boost::asio::ip::address_v6 kMdnsGroupV6 =
    boost::asio::ip::make_address_v6("ff02::fb");

class MdnsSocket : public std::enable_shared_from_this<MdnsSocket> {
 public:
  // Called on the executor for each datagram that arrived on this socket's interface.
  using Receiver = std::function<void(std::span<const std::uint8_t> data,
                                      const boost::asio::ip::udp::endpoint& from)>;
  using Buffer = std::shared_ptr<const std::vector<std::uint8_t>>;

  // Sets SO_REUSEADDR and SO_REUSEPORT (to share the port with Avahi, Bonjour or another
  // lanspread), binds the wildcard address, joins the group on `iface`, sends with hop limit
  // 255 through `iface`, and keeps multicast loopback on so processes on this host see us.
  static result<std::shared_ptr<MdnsSocket>> open(const boost::asio::any_io_executor& ex,
                                                  const NetInterface& iface, bool ipv6,
                                                  std::uint16_t port, Receiver receiver);

  void start();
  void send_multicast(Buffer data, std::function<void()> done = {});
  void send_to(Buffer data, const boost::asio::ip::udp::endpoint& to,
               std::function<void()> done = {});
  void close();

  unsigned ifindex() const noexcept { return ifindex_; }
  bool ipv6() const noexcept { return ipv6_; }

 private:
  MdnsSocket(const boost::asio::any_io_executor& ex, unsigned ifindex, bool ipv6,
             std::uint16_t port, Receiver receiver);
  void wait_readable();
  void drain();

  boost::asio::ip::udp::socket socket_;
  unsigned ifindex_;
  bool ipv6_;
  boost::asio::ip::udp::endpoint group_;
  Receiver receiver_;
  std::vector<std::uint8_t> buffer_;
};

}  // namespace lanspread::discovery
