// Guards against the web UI being served wrongly: a wrong or missing content type (a script
// the browser refuses to run), a stale page after an upgrade (index.html cached), assets
// downloaded again on every visit (no ETag, no 304, no immutable caching), a missing CSP,
// a HEAD that sends a body, or a path outside the table answered with anything but "not mine".
#include "app/static_files.hpp"

#include <gtest/gtest.h>

#include <array>

namespace lanspread::app {
namespace {
namespace http = boost::beast::http;

constexpr std::array<StaticFile, 2> kTable{{
    {"/assets/index-abc123.js", "text/javascript; charset=utf-8", "console.log(1)", "\"e1\""},
    {"/index.html", "text/html; charset=utf-8", "<!doctype html><p>hi", "\"e2\""},
}};

http::request<http::string_body> get(std::string_view target, http::verb verb = http::verb::get) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1:7878");
  return req;
}

TEST(StaticFiles, RootServesIndexHtmlThatIsRevalidated) {
  auto res = serve_static(get("/"), "/", kTable);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ(res->body(), "<!doctype html><p>hi");
  EXPECT_EQ((*res)[http::field::content_type], "text/html; charset=utf-8");
  EXPECT_EQ((*res)[http::field::cache_control], "no-cache");
  EXPECT_EQ((*res)[http::field::etag], "\"e2\"");
  EXPECT_EQ((*res)[http::field::content_length], "20");
  EXPECT_EQ((*res)["Content-Security-Policy"], kWebUiCsp);
  EXPECT_EQ((*res)["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ((*res)[http::field::x_frame_options], "DENY");
}

TEST(StaticFiles, HashedAssetsAreImmutable) {
  auto res = serve_static(get("/assets/index-abc123.js"), "/assets/index-abc123.js", kTable);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ((*res)[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ((*res)[http::field::cache_control], "public, max-age=31536000, immutable");
}

TEST(StaticFiles, MatchingIfNoneMatchGives304WithoutBody) {
  for (std::string_view inm : {"\"e1\"", "W/\"e1\"", "\"zz\", \"e1\"", "*", " \"x\" ,W/\"e1\" "}) {
    auto req = get("/assets/index-abc123.js");
    req.set(http::field::if_none_match, inm);
    auto res = serve_static(req, "/assets/index-abc123.js", kTable);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::not_modified) << inm;
    EXPECT_TRUE(res->body().empty());
    EXPECT_EQ((*res)[http::field::etag], "\"e1\"");
    EXPECT_EQ((*res)[http::field::cache_control], "public, max-age=31536000, immutable");
  }
  auto req = get("/assets/index-abc123.js");
  req.set(http::field::if_none_match, "\"e2\", \"e11\"");
  auto res = serve_static(req, "/assets/index-abc123.js", kTable);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ(res->body(), "console.log(1)");
}

TEST(StaticFiles, HeadHasTheHeadersAndNoBody) {
  auto res = serve_static(get("/index.html", http::verb::head), "/index.html", kTable);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_TRUE(res->body().empty());
  EXPECT_EQ((*res)[http::field::content_length], "20");
  EXPECT_EQ((*res)[http::field::content_type], "text/html; charset=utf-8");
}

TEST(StaticFiles, OtherMethodsAreRefused) {
  auto res = serve_static(get("/", http::verb::post), "/", kTable);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::method_not_allowed);
  EXPECT_EQ((*res)[http::field::allow], "GET, HEAD");
}

TEST(StaticFiles, UnknownPathsAreNotAnswered) {
  for (std::string_view path : {"/api/v1/games", "/index.htm", "/assets/", "/../index.html",
                                "/assets/../index.html", "//index.html", "", "/INDEX.HTML"}) {
    EXPECT_FALSE(serve_static(get("/x"), path, kTable)) << path;
  }
}

TEST(StaticFiles, EtagMatchingFollowsTheWeakComparison) {
  EXPECT_TRUE(etag_matches("\"a\"", "\"a\""));
  EXPECT_TRUE(etag_matches("W/\"a\"", "\"a\""));
  EXPECT_FALSE(etag_matches("", "\"a\""));
  EXPECT_FALSE(etag_matches("\"ab\"", "\"a\""));
  EXPECT_FALSE(etag_matches(",,", "\"a\""));
}

}  // namespace
}  // namespace lanspread::app
