// mDNS/DNS-SD on Asio: advertises this peer as `_lanspread._udp.local` and browses for others,
// on every allowed interface, IPv4 and IPv6 (docs/discovery.md).
//
// Threading: everything runs on the executor given to create(); every public method must be
// called from it, and the event handler is invoked on it. No call blocks.
// Lifetime: create() returns a shared_ptr; pending operations keep the object alive until
// stop() has sent the goodbyes and closed the sockets.
#pragma once

#include "discovery/browser.hpp"
#include "discovery/error.hpp"
#include "discovery/events.hpp"
#include "discovery/interfaces.hpp"
#include "discovery/mdns_socket.hpp"
#include "discovery/netlink_watcher.hpp"
#include "discovery/responder.hpp"
#include "discovery/settings.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>

namespace lanspread::discovery {

class DiscoveryService : public std::enable_shared_from_this<DiscoveryService> {
 public:
  using EventHandler = std::function<void(const Event&)>;

  static std::shared_ptr<DiscoveryService> create(boost::asio::any_io_executor ex,
                                                  Settings settings);

  // Opens the sockets on the current interfaces and follows interface changes from then on
  // (rtnetlink where available, and a periodic rescan). Fails with errc::no_interface when no
  // interface passes the policy (unless Settings::wait_for_interface), or errc::socket_setup
  // when there are interfaces but none of them could be opened.
  result<void> start();
  // Called on the executor whenever the set of interfaces in use changes.
  void on_interfaces_changed(std::function<void()> handler) {
    on_interfaces_changed_ = std::move(handler);
  }
  // Publishes this peer: probes its names, then announces. At most once per service.
  result<void> advertise(Advertisement ad);
  // The library changed: publishes the new `rev` and re-announces.
  void update_rev(std::uint64_t rev);
  // Starts browsing; `on_event` receives PeerSeen, PeerChanged and PeerLost. Our own
  // advertisement is never reported.
  void browse(EventHandler on_event);
  // Sends goodbyes (TTL 0) on every interface, then closes everything. `done` runs on the
  // executor once the goodbyes have been handed to the kernel.
  void stop(std::function<void()> done = {});

  std::vector<Peer> peers() const;
  std::vector<NetInterface> interfaces() const;
  // Our instance label once advertised (it changes if a conflict forced a rename).
  std::optional<std::string> instance() const;

  // Counters for diagnostics and tests.
  struct Stats {
    std::size_t packets_received = 0;
    std::size_t packets_malformed = 0;
    std::size_t packets_sent = 0;
  };
  const Stats& stats() const noexcept { return stats_; }

 private:
  DiscoveryService(boost::asio::any_io_executor ex, Settings settings);

  struct Link {
    NetInterface iface;
    std::shared_ptr<MdnsSocket> v4;
    std::shared_ptr<MdnsSocket> v6;
  };

  void rescan();
  void schedule_rescan();
  void open_sockets(Link& link, bool quiet = false);
  void on_packet(unsigned ifindex, bool ipv6, std::span<const std::uint8_t> data,
                 const boost::asio::ip::udp::endpoint& from);
  void run_responder();
  void run_browser();
  void emit(std::vector<Event> events);
  void send(Link& link, const dns::Message& m);
  void send_on(const std::shared_ptr<MdnsSocket>& s, const dns::Message& m,
               const boost::asio::ip::udp::endpoint* to = nullptr, std::function<void()> done = {});

  // RFC 6762 §6: a record is multicast at most once per second per interface, so a query
  // flood cannot turn us into an amplifier. Keyed by interface, family and record.
  bool recently_multicast(const std::string& key, Clock::time_point now) const;
  void note_multicast(unsigned ifindex, bool ipv6, const dns::Message& m, Clock::time_point now);
  std::map<std::string, Clock::time_point> last_multicast_;

  boost::asio::any_io_executor ex_;
  Settings settings_;
  std::map<unsigned, Link> links_;
  std::optional<Responder> responder_;
  std::optional<Browser> browser_;
  EventHandler on_event_;
  std::function<void()> on_interfaces_changed_;
  std::shared_ptr<NetlinkWatcher> netlink_;
  boost::asio::steady_timer responder_timer_;
  boost::asio::steady_timer browser_timer_;
  boost::asio::steady_timer rescan_timer_;
  bool started_ = false;
  bool stopped_ = false;
  Stats stats_;
};

}  // namespace lanspread::discovery
