// Fuzzes archive entry-name and symlink-target validation: whatever the bytes, an accepted
// name must be a clean relative path with no Windows alias (device name, trailing dot or
// space) and no ".lanspread" name at the top in any case, and an accepted link must
// resolve inside the tree.
// Input: "<entry name>\n<link target>".
#include "install/entry_path.hpp"
#include "proto/test/portable_name_oracle.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/' || s[i] == '\\') {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

void check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace lanspread::install;
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto nl = in.find('\n');
  const std::string_view entry = in.substr(0, nl);
  const std::string_view target = nl == std::string_view::npos ? "" : in.substr(nl + 1);
  const auto rel = sanitize_entry_path(entry);
  if (!rel || rel->empty()) return 0;
  const auto segs = split(*rel);
  check(rel->find('\\') == std::string::npos && rel->find('\0') == std::string::npos);
  for (const auto seg : segs) {
    check(!seg.empty() && seg != "." && seg != ".." &&
          !lanspread::proto::test::is_windows_alias(seg));
  }
  check(lanspread::proto::test::lower_ascii(segs.front()).rfind(".lanspread", 0) != 0);
  if (!check_symlink_target(*rel, target)) return 0;
  // Resolve from the link's directory; any ".." must come before the first name.
  long depth = static_cast<long>(segs.size()) - 1;
  bool named = false;
  check(!target.empty() && target.front() != '/' && target.front() != '\\');
  for (const auto seg : split(target)) {
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      check(!named);
      --depth;
      check(depth >= 0);
    } else {
      named = true;
      ++depth;
    }
  }
  return 0;
}
