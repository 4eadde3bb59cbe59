#include "transport/error.hpp"

#include <string>

namespace lanspread::transport {
namespace {

class TransportCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.transport"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::identity_unreadable:
        return "peer identity in the state dir is unreadable; move identity.key and "
               "identity.crt away to create a new one";
      case errc::identity_write_failed:
        return "cannot write the peer identity to the state dir";
      case errc::tls_setup_failed:
        return "TLS setup failed";
      case errc::quic_setup_failed:
        return "QUIC connection setup failed";
      case errc::socket_failed:
        return "UDP socket setup failed";
      case errc::handshake_failed:
        return "handshake failed";
      case errc::handshake_timeout:
        return "handshake timed out";
      case errc::peer_id_mismatch:
        return "peer certificate does not match the expected peer id";
      case errc::alpn_mismatch:
        return "peer does not speak lanspread/1";
      case errc::party_key_rejected:
        return "peer does not hold the same party key";
      case errc::idle_timeout:
        return "peer stopped answering (idle timeout)";
      case errc::connection_closed:
        return "connection closed";
      case errc::connection_refused:
        return "connection refused";
      case errc::stream_reset:
        return "stream reset by peer";
      case errc::stream_limit:
        return "stream limit reached";
      case errc::stream_closed:
        return "stream already closed";
      case errc::protocol_error:
        return "QUIC protocol error";
      case errc::cancelled:
        return "cancelled";
      case errc::unused_timeout:
        return "connection closed after a time without streams";
    }
    return "unknown transport error";
  }
};

}  // namespace

const boost::system::error_category& transport_category() noexcept {
  static const TransportCategory category;
  return category;
}

}  // namespace lanspread::transport
