// Guards against a binary whose embedded web UI is broken: no index.html, a script or
// stylesheet that index.html names but the table lacks (a blank page), a file without a
// content type or ETag, or duplicate paths.
#include "app/web_assets.hpp"

#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <string>

namespace lanspread::app {
namespace {

const StaticFile* find(std::string_view path) {
  for (const auto& f : embedded_web_files()) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

TEST(WebAssets, IndexHtmlAndEverythingItNamesAreEmbedded) {
  const StaticFile* index = find("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  const std::string html(index->body);
  const std::regex ref(R"re((?:src|href)="(/[^"]+)")re");
  int refs = 0;
  for (std::sregex_iterator it(html.begin(), html.end(), ref), end; it != end; ++it) {
    const std::string path = (*it)[1];
    const StaticFile* f = find(path);
    ASSERT_NE(f, nullptr) << "index.html names " << path << ", which is not embedded";
    EXPECT_FALSE(f->body.empty()) << path;
    ++refs;
  }
  // The placeholder page (built without Node.js) names no file; the real UI names its
  // script and stylesheet.
  if (html.find("without its web UI") == std::string::npos) EXPECT_GE(refs, 2);
}

TEST(WebAssets, EveryFileHasATypeAnEtagAndAUniquePath) {
  std::set<std::string_view> paths;
  std::set<std::string_view> etags;
  for (const auto& f : embedded_web_files()) {
    EXPECT_TRUE(f.path.starts_with("/")) << f.path;
    EXPECT_FALSE(f.content_type.empty()) << f.path;
    EXPECT_EQ(f.etag.size(), 34u) << f.path;  // "<32 hex>"
    EXPECT_TRUE(f.etag.starts_with("\"") && f.etag.ends_with("\"")) << f.path;
    EXPECT_TRUE(paths.insert(f.path).second) << "duplicate " << f.path;
    etags.insert(f.etag);
    if (f.path.ends_with(".js")) {
      EXPECT_EQ(f.content_type, "text/javascript; charset=utf-8");
    }
    if (f.path.ends_with(".css")) EXPECT_EQ(f.content_type, "text/css; charset=utf-8");
  }
  EXPECT_EQ(etags.size(), paths.size());
}

}  // namespace
}  // namespace lanspread::app
