// Errors of the discovery module: malformed mDNS packets and socket setup failures.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace lanspread::discovery {

enum class errc {
  truncated = 1,      // a section, record or name runs past the end of the packet
  bad_label,          // a label longer than 63 bytes or a reserved label type
  name_too_long,      // a name longer than 255 bytes on the wire
  bad_pointer,        // a compression pointer that does not point strictly backwards
  too_many_records,   // a section count above the limit or above what the packet can hold
  message_too_large,  // a packet (or a message to build) above the size limit
  bad_rdata,          // record data that contradicts its type (e.g. an A record of 5 bytes)
  trailing_bytes,     // bytes after the last record
  bad_service,        // a service description we cannot advertise (empty id, bad port...)
  no_interface,       // no usable interface to send or receive on
  socket_setup,       // a socket option or bind failed on an interface
};

const boost::system::error_category& discovery_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), discovery_category()};
}

template <class T>
using result = boost::system::result<T>;

}  // namespace lanspread::discovery

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::discovery::errc> : std::true_type {};
}  // namespace boost::system
