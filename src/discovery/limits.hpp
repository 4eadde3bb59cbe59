// Bounds every received mDNS packet is checked against (docs/discovery.md, "Limits").
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace lanspread::discovery {

// RFC 6762 §17: a multicast DNS packet is at most 9000 bytes including IP/UDP headers.
inline constexpr std::size_t kMaxPacketSize = 9000;
// Largest message we build; stays under a 1500-byte Ethernet MTU with IPv6 + UDP headers.
inline constexpr std::size_t kMaxBuiltPacketSize = 1440;
inline constexpr std::size_t kMaxNameWireLength = 255;
inline constexpr std::size_t kMaxLabelLength = 63;
// Sum of the four section counts. The smallest record takes 11 bytes, so 9000 bytes cannot
// hold more than ~818; parsing stops far earlier.
inline constexpr std::size_t kMaxRecordsPerMessage = 512;
// A name may follow at most this many compression pointers (each must also point backwards).
inline constexpr std::size_t kMaxPointerJumps = 64;
// Bounds of what a remote peer may make us hold.
inline constexpr std::size_t kMaxTxtEntries = 64;
// 1,024 peers with PTR, SRV, TXT and an address on two interfaces fit.
inline constexpr std::size_t kMaxCachedRecords = 8192;
// Distinct instances (peers) in the cache; each holds at most one SRV and one TXT per
// interface, and its host name at most kMaxAddressesPerPeer addresses per interface.
inline constexpr std::size_t kMaxPeers = 1024;
inline constexpr std::size_t kMaxAddressesPerPeer = 16;
// A received record's TTL is cut to this (seconds), so a forged record that nobody refreshes
// is gone within minutes whatever TTL it claimed; real peers answer the refresh queries.
inline constexpr std::uint32_t kMaxRecordTtl = 600;
// Queries the browser sends per tick to resolve instances known only by PTR, so a flood of
// bare PTR records cannot turn into a query storm.
inline constexpr std::size_t kMaxResolveQueriesPerTick = 16;
// Every peer's PTR has the same name: one refresh query per interface this often serves all.
inline constexpr std::chrono::milliseconds kPtrRefreshSpacing{1000};

}  // namespace lanspread::discovery
