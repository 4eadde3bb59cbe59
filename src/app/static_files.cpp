#include "app/static_files.hpp"

#include <algorithm>

namespace lanspread::app {
namespace http = boost::beast::http;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

const StaticFile* find_file(std::span<const StaticFile> files, std::string_view path) {
  if (path == "/") path = "/index.html";
  const auto it =
      std::find_if(files.begin(), files.end(), [&](const StaticFile& f) { return f.path == path; });
  return it == files.end() ? nullptr : &*it;
}

}  // namespace

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  // If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored.
  const auto opaque = [](std::string_view tag) {
    tag = trim(tag);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    return tag;
  };
  while (!if_none_match.empty()) {
    const auto comma = if_none_match.find(',');
    const std::string_view tag = trim(if_none_match.substr(0, comma));
    if (tag == "*" || (!tag.empty() && opaque(tag) == opaque(etag))) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

std::optional<http::response<http::string_body>> serve_static(
    const http::request<http::string_body>& req, std::string_view path,
    std::span<const StaticFile> files) {
  const StaticFile* file = find_file(files, path);
  if (file == nullptr) return std::nullopt;

  http::response<http::string_body> res;
  res.version(req.version());
  res.keep_alive(req.keep_alive());
  res.set("Content-Security-Policy", kWebUiCsp);
  res.set("X-Content-Type-Options", "nosniff");
  res.set("Referrer-Policy", "no-referrer");
  res.set(http::field::x_frame_options, "DENY");
  res.set("Cross-Origin-Opener-Policy", "same-origin");
  res.set("Cross-Origin-Resource-Policy", "same-origin");

  const bool head = req.method() == http::verb::head;
  if (req.method() != http::verb::get && !head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.set(http::field::content_type, "text/plain; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.body() = "use GET or HEAD\n";
    res.prepare_payload();
    return res;
  }

  res.set(http::field::etag, file->etag);
  res.set(http::field::cache_control,
          file->path.starts_with("/assets/") ? "public, max-age=31536000, immutable" : "no-cache");
  if (etag_matches(req[http::field::if_none_match], file->etag)) {
    res.result(http::status::not_modified);  // no body, no Content-Length (RFC 9110 15.4.5)
    return res;
  }
  res.result(http::status::ok);
  res.set(http::field::content_type, file->content_type);
  if (head) {
    res.content_length(file->body.size());  // the size a GET would send; no body
  } else {
    res.body().assign(file->body);
    res.prepare_payload();
  }
  return res;
}

}  // namespace lanspread::app
