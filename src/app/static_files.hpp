// HTTP answers for the web UI's files (web_assets.hpp). They hold no data, so they are served
// without authentication; the API server checks the Host header before asking here.
// Thread: any (pure function of the request and the table).
#pragma once

#include "app/web_assets.hpp"

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>

namespace lanspread::app {

// The Content-Security-Policy every UI answer carries: scripts, styles, images and
// connections from this origin only, nothing inline, no framing.
inline constexpr std::string_view kWebUiCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// The answer for `path` ("/" means "/index.html") when it names a UI file:
// - GET: 200 with the file, or 304 without a body when If-None-Match names its ETag;
// - HEAD: the same headers, no body;
// - any other method: 405 with `Allow: GET, HEAD`.
// Every answer carries Content-Type, ETag, Cache-Control (files under /assets/ have a content
// hash in their name: immutable for a year; the rest: no-cache, i.e. revalidate each time),
// the CSP above, nosniff, no-referrer and frame denial.
// nullopt when `path` is not a UI file, so the caller answers as for any unknown path.
std::optional<boost::beast::http::response<boost::beast::http::string_body>> serve_static(
    const boost::beast::http::request<boost::beast::http::string_body>& req, std::string_view path,
    std::span<const StaticFile> files = embedded_web_files());

// Whether an If-None-Match header value names `etag` (a list of entity tags, weak or
// strong, or "*").
bool etag_matches(std::string_view if_none_match, std::string_view etag);

}  // namespace lanspread::app
