// Errors of the proto module: decoding and validating what a peer sent.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <optional>
#include <string_view>
#include <system_error>

namespace lanspread::proto {

// Internal reasons a frame, message or field is refused. Never sent on the wire as such;
// `to_wire_code` maps them to the stable codes peers see.
enum class errc {
  frame_too_large = 1,  // length prefix above the cap for this direction and message
  frame_truncated,      // stream ended inside a frame
  bad_json,             // not parseable JSON, or too deep
  not_an_object,        // top-level value is not an object
  missing_field,        // a required field is absent
  wrong_type,           // a field has the wrong JSON type
  unknown_type,         // `type` names no message of this protocol
  unexpected_response,  // a response that does not answer the request that was sent
  bad_id,               // game id fails validation
  bad_path,             // relative path fails validation
  bad_version,          // version string fails validation
  bad_range,            // offset/length outside bounds or overflowing
  bad_hash,             // chunk hash is not 64 lowercase hex digits
  too_many,             // a list exceeds its bound
  inconsistent,         // fields contradict each other (e.g. chunk count vs size)
  bad_value,            // any other out-of-bounds value
};

const boost::system::error_category& proto_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), proto_category()};
}

template <class T>
using result = boost::system::result<T>;

// Stable error codes of the wire protocol (docs/protocol.md, "Errors").
enum class WireErrorCode { not_found, bad_request, busy, internal };

std::string_view to_string(WireErrorCode c) noexcept;
std::optional<WireErrorCode> wire_error_code_from_string(std::string_view s) noexcept;

}  // namespace lanspread::proto

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::proto::errc> : std::true_type {};
}  // namespace boost::system
