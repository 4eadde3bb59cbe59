#include "library/version.hpp"

#include "library/error.hpp"
#include "proto/validate.hpp"

#include "sys/durable_file.hpp"

#include <cctype>

namespace lanspread::library {
namespace {

constexpr std::size_t kMaxVersionFileBytes = 64 * 1024;

std::string_view trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

template <class F>
void for_each_line(std::string_view text, F&& f) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    if (!f(trim(text.substr(pos, nl - pos)))) return;
    pos = nl + 1;
  }
}

}  // namespace

boost::system::result<std::string> parse_version_ini(std::string_view content) {
  if (content.substr(0, 3) == "\xEF\xBB\xBF") content.remove_prefix(3);
  std::string_view keyed;
  std::string_view first;
  for_each_line(content, [&](std::string_view line) {
    if (line.empty() || line.front() == '#' || line.front() == ';') return true;
    if (const auto eq = line.find('=');
        eq != std::string_view::npos && iequals(trim(line.substr(0, eq)), "version")) {
      keyed = trim(line.substr(eq + 1));
      return false;
    }
    if (first.empty() && line.front() != '[') first = line;
    return true;
  });
  const std::string_view version = !keyed.empty() ? keyed : first;
  if (version.empty() || !proto::validate_version(version)) return errc::version_missing;
  return std::string(version);
}

boost::system::result<std::string> read_version_file(const std::filesystem::path& path) {
  auto content = sys::read_small_file(path, kMaxVersionFileBytes);
  if (!content) return errc::version_unreadable;
  return parse_version_ini(*content);
}

int natural_compare(std::string_view a, std::string_view b) noexcept {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() && j < b.size()) {
    if (digit(a[i]) && digit(b[j])) {
      std::size_t ie = i;
      std::size_t je = j;
      while (ie < a.size() && digit(a[ie])) ++ie;
      while (je < b.size() && digit(b[je])) ++je;
      std::size_t is = i;
      std::size_t js = j;
      while (is + 1 < ie && a[is] == '0') ++is;  // leading zeros do not change the number
      while (js + 1 < je && b[js] == '0') ++js;
      const std::size_t alen = ie - is;
      const std::size_t blen = je - js;
      if (alen != blen) return alen < blen ? -1 : 1;
      if (const int c = a.substr(is, alen).compare(b.substr(js, blen)); c != 0)
        return c < 0 ? -1 : 1;
      i = ie;
      j = je;
      continue;
    }
    if (a[i] != b[j]) {
      return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[j]) ? -1 : 1;
    }
    ++i;
    ++j;
  }
  if (i < a.size() || j < b.size()) return i < a.size() ? 1 : -1;
  // Numerically equal ("01" vs "1"): fall back to bytes so that the order stays total.
  const int c = a.compare(b);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

}  // namespace lanspread::library
