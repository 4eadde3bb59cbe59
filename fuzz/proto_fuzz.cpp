// Fuzzes everything that reads a peer's bytes before any other code sees them: the frame
// decoder, request and response decoding (JSON + validation) and path validation.
// Properties checked beyond "no crash": what decodes re-encodes to the same message, and a
// path that validates never escapes, never names a reserved file in any letter case, never
// names a Windows device or ends in a dot or space, and never aliases local/ or version.ini.
#include "proto/codec.hpp"
#include "proto/frame.hpp"
#include "proto/limits.hpp"
#include "proto/test/portable_name_oracle.hpp"
#include "proto/validate.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace lanspread::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);

  FrameDecoder frames(kMaxRequestFrame);
  std::span<const std::uint8_t> rest(data, size);
  while (!rest.empty()) {
    auto used = frames.feed(rest);
    if (!used) break;
    rest = rest.subspan(*used);
    if (frames.complete()) (void)decode_request(frames.take_payload());
  }

  if (auto req = decode_request(text)) {
    auto again = decode_request(encode_request(*req));
    if (!again || !(*again == *req)) std::abort();
  }
  if (auto resp = decode_response(text)) {
    auto again = decode_response(encode_response(*resp));
    if (!again || !(*again == *resp)) std::abort();
  }

  if (validate_relative_path(text)) {
    if (text.front() == '/' || text.find('\\') != std::string_view::npos ||
        text.find('\0') != std::string_view::npos || text.substr(0, 6) == "local/" ||
        text == "local") {
      std::abort();
    }
    std::size_t start = 0;
    while (start <= text.size()) {
      const std::size_t slash = std::min(text.find('/', start), text.size());
      const std::string_view seg = text.substr(start, slash - start);
      if (seg.empty() || seg == "." || seg == ".." || test::is_reserved_any_case(seg) ||
          test::is_windows_alias(seg)) {
        std::abort();
      }
      if (start == 0) {
        const std::string top = test::lower_ascii(seg);
        if (top == "local" || (top == "version.ini" && seg != "version.ini")) std::abort();
      }
      start = slash + 1;
    }
  }
  return 0;
}
