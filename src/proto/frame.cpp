#include "proto/frame.hpp"

#include "proto/codec.hpp"
#include "proto/limits.hpp"
#include "proto/try.hpp"

#include <algorithm>

namespace lanspread::proto {

std::uint32_t response_frame_cap(const Request& sent) noexcept {
  if (std::holds_alternative<GetGame>(sent)) return kMaxManifestFrame;
  if (std::holds_alternative<ListGames>(sent)) return kMaxGamesFrame;
  return kMaxResponseFrame;
}

result<std::string> encode_frame(std::string_view payload, std::uint32_t cap) {
  if (payload.size() > cap) return errc::frame_too_large;
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string out;
  out.reserve(kFrameHeaderSize + payload.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(payload);
  return out;
}

result<std::string> frame_request(const Request& request) {
  return encode_frame(encode_request(request), kMaxRequestFrame);
}

result<std::string> frame_response(const Response& response) {
  const std::uint32_t cap = std::holds_alternative<Game>(response)    ? kMaxManifestFrame
                            : std::holds_alternative<Games>(response) ? kMaxGamesFrame
                                                                      : kMaxResponseFrame;
  return encode_frame(encode_response(response), cap);
}

result<std::size_t> FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  std::size_t used = 0;
  while (!have_header_ && used < bytes.size()) {
    header_[header_len_++] = bytes[used++];
    if (header_len_ == 4) {
      expected_ = std::uint32_t{header_[0]} << 24 | std::uint32_t{header_[1]} << 16 |
                  std::uint32_t{header_[2]} << 8 | std::uint32_t{header_[3]};
      if (expected_ > max_payload_) return errc::frame_too_large;
      have_header_ = true;
      payload_.clear();
      // Reserve at most what is already here plus a little: a peer that announces a large
      // frame and then stalls must not make us allocate it up front.
      payload_.reserve(std::min<std::size_t>(expected_, 64 * 1024));
    }
  }
  if (have_header_) {
    const std::size_t want = expected_ - payload_.size();
    const std::size_t take = std::min(want, bytes.size() - used);
    payload_.append(reinterpret_cast<const char*>(bytes.data() + used), take);
    used += take;
  }
  return used;
}

std::string FrameDecoder::take_payload() {
  std::string out = std::move(payload_);
  payload_.clear();
  header_len_ = 0;
  have_header_ = false;
  expected_ = 0;
  return out;
}

namespace {

std::uint32_t big_endian(const std::uint8_t* b) noexcept {
  return std::uint32_t{b[0]} << 24 | std::uint32_t{b[1]} << 16 | std::uint32_t{b[2]} << 8 |
         std::uint32_t{b[3]};
}

}  // namespace

ResponseReader::ResponseReader(Request sent)
    : sent_(std::move(sent)), cap_(response_frame_cap(sent_)), parser_(expected_responses(sent_)) {}

result<std::size_t> ResponseReader::feed(std::span<const std::uint8_t> bytes) {
  if (failed_) return failed_;
  std::size_t used = 0;
  while (header_len_ < kFrameHeaderSize && used < bytes.size()) {
    header_[header_len_++] = bytes[used++];
    if (header_len_ == kFrameHeaderSize) {
      left_ = big_endian(header_);
      if (left_ > cap_) return failed_ = make_error_code(errc::frame_too_large);
    }
  }
  if (header_len_ < kFrameHeaderSize || left_ == 0) return used;
  const std::size_t take = std::min<std::size_t>(left_, bytes.size() - used);
  if (auto ok = parser_.write({reinterpret_cast<const char*>(bytes.data() + used), take}); !ok)
    return failed_ = ok.error();
  left_ -= static_cast<std::uint32_t>(take);
  return used + take;
}

result<Response> ResponseReader::take() {
  if (failed_) return failed_;
  if (!complete()) return failed_ = make_error_code(errc::frame_truncated);
  LANSPREAD_TRY(auto r, parser_.finish());
  if (!answers(sent_, r)) return failed_ = make_error_code(errc::unexpected_response);
  return r;
}

result<void> FrameDecoder::finish() const noexcept {
  if (header_len_ != 0 && !complete()) return errc::frame_truncated;
  if (header_len_ == 0) return errc::frame_truncated;  // stream ended before any frame
  return {};
}

}  // namespace lanspread::proto
