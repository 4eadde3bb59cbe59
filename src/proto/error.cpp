#include "proto/error.hpp"

#include <string>

namespace lanspread::proto {
namespace {

class ProtoCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.proto"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::frame_too_large:
        return "frame exceeds the size limit";
      case errc::frame_truncated:
        return "stream ended inside a frame";
      case errc::bad_json:
        return "message is not valid JSON";
      case errc::not_an_object:
        return "message is not a JSON object";
      case errc::missing_field:
        return "required field is missing";
      case errc::wrong_type:
        return "field has the wrong type";
      case errc::unknown_type:
        return "unknown message type";
      case errc::unexpected_response:
        return "response does not answer the request";
      case errc::bad_id:
        return "invalid game id";
      case errc::bad_path:
        return "invalid file path";
      case errc::bad_version:
        return "invalid version string";
      case errc::bad_range:
        return "offset or length out of range";
      case errc::bad_hash:
        return "invalid chunk hash";
      case errc::too_many:
        return "list exceeds its limit";
      case errc::inconsistent:
        return "fields contradict each other";
      case errc::bad_value:
        return "value out of bounds";
    }
    return "unknown proto error";
  }
};

}  // namespace

const boost::system::error_category& proto_category() noexcept {
  static const ProtoCategory category;
  return category;
}

std::string_view to_string(WireErrorCode c) noexcept {
  switch (c) {
    case WireErrorCode::not_found:
      return "not_found";
    case WireErrorCode::bad_request:
      return "bad_request";
    case WireErrorCode::busy:
      return "busy";
    case WireErrorCode::internal:
      return "internal";
  }
  return "internal";
}

std::optional<WireErrorCode> wire_error_code_from_string(std::string_view s) noexcept {
  for (auto c : {WireErrorCode::not_found, WireErrorCode::bad_request, WireErrorCode::busy,
                 WireErrorCode::internal}) {
    if (to_string(c) == s) return c;
  }
  return std::nullopt;
}

}  // namespace lanspread::proto
