// An independent statement of the portable-name rules, for the fuzzers to check the
// validators against (written differently on purpose: lower-case copy, explicit lists).
#pragma once

#include <string>
#include <string_view>

namespace lanspread::proto::test {

inline std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
  }
  return out;
}

// Windows would open a device, or another file, instead of a file of this name.
inline bool is_windows_alias(std::string_view segment) {
  if (segment.empty()) return false;
  if (segment.back() == '.' || segment.back() == ' ') return true;
  std::string base = lower_ascii(segment.substr(0, segment.find('.')));
  while (!base.empty() && base.back() == ' ') base.pop_back();
  if (base == "con" || base == "prn" || base == "aux" || base == "nul" || base == "conin$" ||
      base == "conout$") {
    return true;
  }
  for (const char* port : {"com", "lpt"}) {
    for (const char* digit :
         {"1", "2", "3", "4", "5", "6", "7", "8", "9", "\xc2\xb9", "\xc2\xb2", "\xc2\xb3"}) {
      if (base == std::string(port) + digit) return true;
    }
  }
  return false;
}

inline bool is_reserved_any_case(std::string_view segment) {
  const std::string l = lower_ascii(segment);
  return l.rfind(".lanspread", 0) == 0 || l.rfind(".local.", 0) == 0 ||
         l.rfind(".version.ini.", 0) == 0;
}

}  // namespace lanspread::proto::test
