// What other peers can make this runtime hold and do: every bound on peers, their answers
// and dialling, with its default, in one place (docs/security.md, "Peers, answers and
// dialling"). PeerConfig carries one; tests shrink the times.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace lanspread::runtime {

struct PeerLimits {
  // Peers known at once, announced or verified (the mDNS browser keeps at most as many).
  std::size_t max_peers = 1024;
  // Verified peers whose proving connection came from one IP address (certificates are
  // free to make; addresses on a LAN are not). Peers on loopback (named by a local caller)
  // do not count.
  std::size_t max_peers_per_host = 4;
  // A peer's game list is fetched again at most this often, whatever its Pong or its
  // announcement says about its library revision.
  std::chrono::milliseconds min_refresh_interval{10'000};
  // Swarming: peers asked for their chunk map when a download starts offering its chunks
  // (those that do not hold the version; the others are found by their game lists).
  std::size_t max_partial_probes = 64;
  // Requests that run at once over all peers: manifest fetches (GetGame, up to 64 MiB each)
  // and game-list refreshes (ListGames, up to 4 MiB each). The rest wait their turn.
  std::size_t max_manifest_fetches = 4;
  std::size_t max_refreshes = 8;
  // A peer whose manifest of a version lost the vote is not asked for it again for this long.
  std::chrono::milliseconds dissent_memory{600'000};
  std::size_t max_dissent_entries = 4096;

  // Outgoing QUIC handshakes in flight at once; further dials wait in a queue.
  std::size_t max_handshakes = 16;
  // A handshake that has not finished by then has failed (applied to the QUIC endpoint;
  // on a LAN a handshake takes milliseconds, this leaves room for two lost packets).
  std::chrono::milliseconds handshake_timeout{2500};
  // An address that did not answer waits this long before it is dialled again, doubling
  // with each further failure up to the max. So is every unanswered port of one host.
  std::chrono::milliseconds backoff_initial{10'000};
  std::chrono::milliseconds backoff_max{60'000};
  // The same for an address where the peer answered before (it proved its id there): a peer
  // that stopped answering is probed this often, so it is back within seconds of answering.
  // With the 2.5 s handshake deadline, a peer that answers again is dialled within 4 s.
  std::chrono::milliseconds backoff_answered_initial{500};
  std::chrono::milliseconds backoff_answered_max{1'500};
  // Ports of one host that never answered are dialled this many at a time; once two of them
  // have failed, the host backs off as a whole (one dial per backoff period).
  int max_unanswered_dials_per_host = 2;
  // Addresses of one announcement that are dialled (the first ones, IPv4 first).
  std::size_t max_addresses_per_peer = 8;
  // Announced ports below this (privileged services) and port 0 are never dialled.
  std::uint16_t min_port = 1024;
  // Addresses and hosts whose dial history (backoff) is remembered.
  std::size_t max_tracked_addresses = 8192;
  // Peers named by address (serve --peer, POST /api/v1/peers).
  std::size_t max_manual_peers = 64;
};

}  // namespace lanspread::runtime
