#include "app/http_util.hpp"

#include <boost/json.hpp>

#include <charconv>

namespace lanspread::app {
namespace http = boost::beast::http;
namespace json = boost::json;

Response make_json(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response error_json(const Request& req, http::status status, std::string_view code,
                    std::string message) {
  return make_json(req, status,
                   json::serialize(json::object{
                       {"error", json::object{{"code", code}, {"message", std::move(message)}}}}));
}

Response make_html(const Request& req, http::status status, std::string body) {
  Response res{status, req.version()};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("Content-Security-Policy", "default-src 'none'");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

std::optional<std::string_view> query_param(std::string_view target, std::string_view key) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return std::nullopt;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const auto amp = rest.find('&');
    const std::string_view pair = rest.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == key) return eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return std::nullopt;
}

std::uint64_t parse_u64(std::optional<std::string_view> s, std::uint64_t fallback) {
  if (!s) return fallback;
  std::uint64_t v = fallback;
  auto [p, ec] = std::from_chars(s->data(), s->data() + s->size(), v);
  return ec == std::errc{} && p == s->data() + s->size() ? v : fallback;
}

}  // namespace lanspread::app
