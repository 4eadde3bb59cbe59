// JSON codec of the wire messages (docs/protocol.md). Decoding validates every field
// (validate.hpp) and returns an error value; it never throws. Requests (at most 64 KiB) are
// parsed as a JSON tree; responses stream through ResponseParser (response_parser.hpp), which
// checks counts and sizes before anything is built.
#pragma once

#include "proto/error.hpp"
#include "proto/messages.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::proto {

std::string encode_request(const Request& request);
std::string encode_response(const Response& response);

result<Request> decode_request(std::string_view json) noexcept;
result<Response> decode_response(std::string_view json) noexcept;

// True when `response` is an acceptable answer to `sent` (the matching type or an Error;
// a Game must describe the id that was asked for).
bool answers(const Request& sent, const Response& response) noexcept;

// Decodes a response and checks that it answers `sent` (errc::unexpected_response if not).
result<Response> decode_response_to(const Request& sent, std::string_view json) noexcept;

// Building blocks shared with the library index and the CLI's --json output.
boost::json::value to_json(const GameSummary& s);
boost::json::value to_json(const GameFileDescription& f);
boost::json::value to_json(const Game& g);
result<Game> game_from_json(const boost::json::value& v) noexcept;
// Lowercase hex of bytes, and back (nullopt: odd length or not lowercase hex).
std::string bytes_to_hex(std::span<const std::uint8_t> bytes);
std::optional<std::vector<std::uint8_t>> bytes_from_hex(std::string_view hex);

}  // namespace lanspread::proto
