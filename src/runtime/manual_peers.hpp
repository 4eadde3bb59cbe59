// Peers a local user named by address (`serve --peer HOST[:PORT]`, POST /api/v1/peers),
// for networks where multicast does not pass. Their ids are not known beforehand: the dial
// accepts any certificate and records the id the handshake proved (docs/discovery.md,
// "Manual peers").
#pragma once

#include "sys/error.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::runtime {

inline constexpr std::uint16_t kDefaultPeerPort = 7979;

struct ManualAddress {
  std::string host;  // a name or an IP literal (IPv6 without brackets, maybe with %scope)
  std::uint16_t port = kDefaultPeerPort;
  // "host:port", IPv6 in brackets: how it is shown, stored and deleted.
  std::string text() const;
};

// Parses "HOST", "HOST:PORT", "[IPV6]", "[IPV6]:PORT" or a bare IPv6 literal. Refused, with a
// message for the user: an empty or malformed host, a port that is not a number, port 0 and
// ports below `min_port` (privileged services are never dialled, docs/security.md).
boost::system::result<ManualAddress> parse_manual_address(std::string_view text,
                                                          std::uint16_t min_port, std::string& why);

// Where the runtime keeps its manual peers across restarts. Called on the disk pool, one
// call at a time.
class ManualPeerStore {
 public:
  virtual ~ManualPeerStore() = default;
  // The stored addresses (as ManualAddress::text()); none when nothing was stored yet.
  virtual sys::result<std::vector<std::string>> load() = 0;
  virtual sys::result<void> save(const std::vector<std::string>& addresses) = 0;
};

// `<dir>/peers`: one address per line, written atomically (tmp + fsync + rename), read with a
// bound of 64 KiB.
std::shared_ptr<ManualPeerStore> make_file_peer_store(std::filesystem::path dir);

}  // namespace lanspread::runtime
