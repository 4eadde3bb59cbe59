#include "discovery/error.hpp"

#include <string>

namespace lanspread::discovery {
namespace {

class DiscoveryCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.discovery"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::truncated:
        return "mDNS packet is truncated";
      case errc::bad_label:
        return "mDNS name has an invalid label";
      case errc::name_too_long:
        return "mDNS name exceeds 255 bytes";
      case errc::bad_pointer:
        return "mDNS name has a compression pointer that is not backwards";
      case errc::too_many_records:
        return "mDNS packet has more records than allowed";
      case errc::message_too_large:
        return "mDNS message exceeds the size limit";
      case errc::bad_rdata:
        return "mDNS record data does not match its type";
      case errc::trailing_bytes:
        return "mDNS packet has bytes after its last record";
      case errc::bad_service:
        return "service cannot be advertised (check id, port and TXT sizes)";
      case errc::no_interface:
        return "no multicast-capable interface (check links, or allow loopback/virtual ones)";
      case errc::socket_setup:
        return "mDNS socket setup failed (is UDP port 5353 usable on this interface?)";
    }
    return "unknown discovery error";
  }
};

}  // namespace

const boost::system::error_category& discovery_category() noexcept {
  static const DiscoveryCategory category;
  return category;
}

}  // namespace lanspread::discovery
