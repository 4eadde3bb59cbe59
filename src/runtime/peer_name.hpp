// A peer's readable name comes from strangers (an mDNS instance label, any 63 bytes): it is
// made safe once, where it enters the runtime, before logs, events and the API see it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace lanspread::runtime {

// Code points of a name that are kept.
inline constexpr std::size_t kMaxPeerNameCodePoints = 64;

// `raw` as valid UTF-8 (each invalid byte becomes U+FFFD), without control characters (C0,
// DEL, C1), line and paragraph separators or bidirectional overrides (they could fake or
// hide text in a log line or on the page), cut to kMaxPeerNameCodePoints code points.
std::string sanitize_peer_name(std::string_view raw);

}  // namespace lanspread::runtime
