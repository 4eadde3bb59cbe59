// Errors of the transport module (QUIC connections, streams, identity).
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace lanspread::transport {

enum class errc {
  identity_unreadable = 1,  // key or certificate in the state dir cannot be read or parsed
  identity_write_failed,    // the state dir cannot hold a new identity
  tls_setup_failed,         // GnuTLS refused a session or credential setup
  quic_setup_failed,        // ngtcp2 refused to create a connection
  socket_failed,            // the UDP socket cannot be opened, bound or configured
  handshake_failed,         // TLS or QUIC handshake did not complete
  handshake_timeout,        // no handshake within the timeout
  peer_id_mismatch,         // the server's certificate is not the peer id that was dialled
  alpn_mismatch,            // the other side does not speak lanspread/1
  party_key_rejected,       // the other side does not hold the same party key
  idle_timeout,             // nothing heard from the peer within the idle timeout
  connection_closed,        // closed by either side
  connection_refused,       // the endpoint is at its connection limit or shutting down
  stream_reset,             // the peer reset the stream (see Stream::reset_code)
  stream_limit,             // no stream can be opened (peer's limit reached)
  stream_closed,            // operation on a stream that is finished or reset locally
  protocol_error,           // the peer broke QUIC
  cancelled,                // the operation was cancelled locally
  unused_timeout,           // no stream was open for the unused timeout
};

const boost::system::error_category& transport_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), transport_category()};
}

template <class T>
using result = boost::system::result<T>;

}  // namespace lanspread::transport

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::transport::errc> : std::true_type {};
}  // namespace boost::system
