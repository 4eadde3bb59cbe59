// The web UI's built files (web/, docs/ui.md) as the build embeds them in the binary: a
// table generated from web/dist by cmake/embed_web_ui.cmake, so `lanspread serve` needs no
// files beside it. Plain data, no IO.
#pragma once

#include <span>
#include <string_view>

namespace lanspread::app {

struct StaticFile {
  std::string_view path;          // as requested: "/index.html", "/assets/index-1a2b3c4d.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag;  // strong validator, quoted: "\"3f9a0c...\"" (from the SHA-256)
};

// Every file of the built UI, sorted by path.
std::span<const StaticFile> embedded_web_files();

}  // namespace lanspread::app
