// Who gets dialled, when, and in which order (docs/security.md, "A forged announcement").
// Pure data, sans-IO: the runtime passes `now`, carries out the dials it is granted and
// reports how they ended; tests drive it in virtual time.
//
// - Announced addresses on port 0, below PeerLimits::min_port, unspecified, multicast or
//   broadcast are never dialled; nor are loopback ones unless a local caller named them.
// - Every address that does not answer backs off exponentially (10 s doubling to 60 s by
//   default), however many announcements name it; an address is dialled by one handshake
//   at a time. One where the peer answered before (it proved its id there) backs off from
//   0.5 s to 1.5 s, so a peer that stopped answering is back soon after it answers again. Ports of
//   one host that never answered are dialled two at a time, and once two of them have failed the
//   host backs off as a whole (one dial per backoff period).
// - At most PeerLimits::max_handshakes dials run at once; the rest wait, best first:
//   addresses that answered before, then peers that connected to us, then addresses never
//   tried (the newest announcement first), then retries in the order they fell due.
// - At most PeerLimits::max_peers peers are known; a new one replaces the unverified peer
//   that failed most, or is refused.
#pragma once

#include "runtime/peer_limits.hpp"
#include "transport/address.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lanspread::runtime {

class DialPlanner {
 public:
  using Clock = std::chrono::steady_clock;
  using Ticket = std::uint64_t;

  struct Attempt {
    Ticket ticket = 0;
    std::string peer;
    transport::Address address;
  };

  enum class Admission { added, updated, no_usable_address, full };

  explicit DialPlanner(PeerLimits limits) : limits_(limits) {}

  // A peer an announcement (`announced`) or a local caller named, with its addresses. The
  // addresses are filtered (see above); a peer left without any is not kept.
  Admission offer(const std::string& peer, const std::vector<transport::Address>& addresses,
                  bool announced, Clock::time_point now);
  // The peer's announcement is gone: it is no longer dialled (address history stays).
  void forget(const std::string& peer);
  // It answered as the peer it claims to be (or stopped doing so).
  void set_verified(const std::string& peer, bool verified);
  // It opened a connection to us, proving its id: its dials go before unknown ones.
  void contacted_by(const std::string& peer);
  bool knows(const std::string& peer) const { return peers_.contains(peer); }
  // The addresses that may be dialled, in the order they would be.
  std::vector<transport::Address> addresses(const std::string& peer) const;

  // A caller wants a connection: queues a request that walks the peer's addresses, one
  // granted attempt at a time. Nothing (no ticket) when the peer is unknown or all its
  // addresses are backing off.
  std::optional<Ticket> request(const std::string& peer, Clock::time_point now);
  // Attempts that may start now, best first; each holds a handshake slot until finished().
  std::vector<Attempt> grant(Clock::time_point now);
  // The attempt granted to `ticket` and not finished yet, if any.
  const Attempt* granted(Ticket ticket) const;
  // How the granted attempt ended. After a failure the request stays queued if another
  // address may be tried now.
  void finished(Ticket ticket, bool answered, Clock::time_point now);
  // The request got its answer or is given up; frees it. Idempotent.
  void close(Ticket ticket);
  // True when the request has no granted attempt and nothing left to try.
  bool exhausted(Ticket ticket, Clock::time_point now) const;

  // Unverified peers whose first contact or next retry is due, best first, at most `room`
  // of them; they are marked as being probed until probe_done().
  std::vector<std::string> due_probes(Clock::time_point now, std::size_t room);
  void probe_done(const std::string& peer);
  // When the next probe falls due (if any peer is waiting for one).
  std::optional<Clock::time_point> next_probe() const;

  std::size_t in_flight() const noexcept { return in_flight_; }
  std::size_t queued() const;
  std::size_t peer_count() const noexcept { return peers_.size(); }
  // Handshake slots neither running nor promised to a queued request.
  std::size_t free_slots() const;

 private:
  struct AddressState {
    transport::Address address;
    std::string host;
    int failures = 0;
    bool answered = false;    // a handshake to it ever completed
    bool busy = false;        // an attempt is running
    bool holds_host = false;  // ... and counts against its host's unanswered dials
    Clock::time_point next{};
    Clock::time_point last_used{};
  };
  struct HostState {
    int failures = 0;       // of ports that never answered
    int failing_ports = 0;  // ports that never answered and failed at least once
    int busy = 0;           // attempts running to ports that never answered
    Clock::time_point next{};
    Clock::time_point last_used{};
  };
  struct Peer {
    std::vector<std::string> addresses;  // keys into addresses_
    bool verified = false;
    bool contacted = false;
    bool probing = false;
    Clock::time_point offered{};
  };
  struct Request {
    std::string peer;
    std::set<std::string> tried;
    std::optional<Attempt> attempt;
    std::string attempt_key;  // of the running attempt
    Clock::time_point since{};
  };

  bool usable(const transport::Address& a, bool announced) const;
  std::string remember(const transport::Address& a, Clock::time_point now);
  bool allowed(const std::string& key, Clock::time_point now) const;
  // The next address of `r` to try now, or nothing. With `wait_for_busy`, an address another
  // attempt is dialling counts as one to try (once it is free).
  const std::string* next_address(const Request& r, Clock::time_point now,
                                  bool wait_for_busy) const;
  // Sort key: smaller dials first.
  std::pair<int, std::int64_t> rank(const Peer& p, const std::string& address,
                                    Clock::time_point since) const;
  // Ends the running attempt of `r`: answered, failed, or (nullopt) cancelled.
  void release(Request& r, std::optional<bool> answered, Clock::time_point now);
  bool evict_one();
  void trim_history();

  PeerLimits limits_;
  std::map<std::string, Peer> peers_;
  std::map<std::string, AddressState> addresses_;
  std::map<std::string, HostState> hosts_;
  std::map<Ticket, Request> requests_;
  Ticket next_ticket_ = 1;
  std::size_t in_flight_ = 0;
};

}  // namespace lanspread::runtime
