// Tunables of the mDNS responder and browser. Defaults follow RFC 6762 where it gives a
// number; tests shorten them so a whole scenario runs in seconds (docs/discovery.md, "Timings").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace lanspread::discovery {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

struct InterfacePolicy {
  bool include_loopback = false;  // tests on one host need the loopback interface
  bool include_virtual = false;   // container and VM bridges (docker0, virbr*, br-<hex>, ...)
  std::vector<std::string> only;  // if not empty, exactly these interface names
  bool ipv4 = true;
  bool ipv6 = true;
};

struct Settings {
  std::uint16_t port = 5353;  // only tests on a private namespace change it
  // TTL of every record we publish. Short enough that a killed peer disappears in about two
  // minutes, which is what a LAN party can wait; browsers re-query at 80-95% of it.
  std::chrono::seconds record_ttl{120};
  milliseconds probe_interval{250};
  int probe_count = 3;
  milliseconds announce_interval{1000};
  int announce_count = 2;
  // Browsing: first query after a random 20-120 ms, then this interval doubling up to the max.
  milliseconds query_initial_interval{1000};
  milliseconds query_max_interval{std::chrono::minutes(60)};
  // How long a record announced with TTL 0 stays (RFC 6762 §10.1 says one second; peers are
  // identified by a unique id, so a shorter grace is safe and makes departures visible sooner).
  milliseconds goodbye_grace{200};
  milliseconds interface_rescan{5000};
  // Interface changes are also followed through rtnetlink (Linux), coalesced over this delay;
  // the periodic rescan stays as the fallback.
  bool follow_netlink = true;
  milliseconds netlink_coalesce{100};
  // start() succeeds with no usable interface yet, and mDNS starts on the first one that
  // appears (a daemon started before its network is up). Off: start() fails with no_interface.
  bool wait_for_interface = false;
  InterfacePolicy interfaces;
};

}  // namespace lanspread::discovery
