// Length-prefixed frames: a 4-byte big-endian length, then that many bytes of JSON.
// Sans-IO: the decoder takes bytes and says when a frame is complete; raw file bytes that
// follow a FileData frame on the same stream are left unconsumed.
#pragma once

#include "proto/error.hpp"
#include "proto/limits.hpp"
#include "proto/messages.hpp"
#include "proto/response_parser.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace lanspread::proto {

// The largest response frame a client accepts in answer to `sent`: a manifest (Game) up to
// kMaxManifestFrame, a game list (Games) up to kMaxGamesFrame, anything else up to
// kMaxResponseFrame.
std::uint32_t response_frame_cap(const Request& sent) noexcept;

// Header + payload. Errors with frame_too_large when payload exceeds `cap`.
result<std::string> encode_frame(std::string_view payload, std::uint32_t cap);
result<std::string> frame_request(const Request& request);
result<std::string> frame_response(const Response& response);

class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_payload) noexcept : max_payload_(max_payload) {}

  // Consumes bytes up to the end of the current frame and returns how many it took.
  // Fails with frame_too_large as soon as the header announces more than the cap, before
  // any payload is buffered.
  result<std::size_t> feed(std::span<const std::uint8_t> bytes);
  result<std::size_t> feed(std::string_view bytes) {
    return feed(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  }

  bool complete() const noexcept { return have_header_ && payload_.size() == expected_; }
  // The payload of a complete frame; the decoder is ready for the next frame afterwards.
  std::string take_payload();
  // Call when the stream ends: error if a frame was started but not finished.
  result<void> finish() const noexcept;

 private:
  std::uint32_t max_payload_;
  std::uint8_t header_[4]{};
  std::size_t header_len_ = 0;
  bool have_header_ = false;
  std::uint32_t expected_ = 0;
  std::string payload_;
};

// Reads the one response frame that answers `sent`, decoding its JSON as the bytes arrive:
// the frame's length is checked against the cap for `sent` from its 4-byte header, and the
// payload is never buffered (ResponseParser holds only what it has decoded). Bytes after the
// frame (a FileData's raw data) are left unconsumed.
class ResponseReader {
 public:
  explicit ResponseReader(Request sent);

  // Consumes bytes up to the end of the frame and returns how many it took. Fails at once
  // with frame_too_large, or with the parser's reason at the first byte that breaks a rule.
  result<std::size_t> feed(std::span<const std::uint8_t> bytes);
  bool complete() const noexcept { return header_len_ == kFrameHeaderSize && left_ == 0; }
  // After complete(): the validated response, which answers `sent` (else unexpected_response).
  // Before: frame_truncated (the stream ended inside the frame).
  result<Response> take();

 private:
  Request sent_;
  std::uint32_t cap_;
  ResponseParser parser_;
  std::uint8_t header_[kFrameHeaderSize]{};
  std::size_t header_len_ = 0;
  std::uint32_t left_ = 0;  // payload bytes still to come
  boost::system::error_code failed_;
};

}  // namespace lanspread::proto
