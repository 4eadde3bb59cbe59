// Small HTTP helpers of the local API: JSON and HTML answers, error bodies, query strings.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lanspread::app {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

Response make_json(const Request& req, boost::beast::http::status status, std::string body);
// {"error":{"code":…,"message":…}}
Response error_json(const Request& req, boost::beast::http::status status, std::string_view code,
                    std::string message);
Response make_html(const Request& req, boost::beast::http::status status, std::string body);

// The value of `key` in "/path?x=1&y=2", if present (not percent-decoded: the API's values
// are numbers and hex tokens).
std::optional<std::string_view> query_param(std::string_view target, std::string_view key);
// `s` as a number, or `fallback` when it is missing or not a number.
std::uint64_t parse_u64(std::optional<std::string_view> s, std::uint64_t fallback);

}  // namespace lanspread::app
