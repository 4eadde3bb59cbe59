#include "install/entry_path.hpp"

#include "proto/validate.hpp"

#include <vector>

namespace lanspread::install {
namespace {

constexpr std::size_t kMaxPath = 4096;
constexpr std::size_t kMaxSegment = 255;

// Splits on '/' and '\\', dropping empty and "." segments.
std::vector<std::string_view> segments(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == '/' || s[i] == '\\') {
      std::string_view seg = s.substr(start, i - start);
      if (!seg.empty() && seg != ".") out.push_back(seg);
      start = i + 1;
    }
  }
  return out;
}

// ".lanspread*" in any case: inside the install directory these names are Lanspread's
// (e.g. its list of installed files), and on Windows ".LANSPREAD.files" is the same file.
bool is_lanspread_name(std::string_view seg) {
  constexpr std::string_view kPrefix = ".lanspread";
  if (seg.size() < kPrefix.size()) return false;
  for (std::size_t i = 0; i < kPrefix.size(); ++i) {
    const char c = seg[i] >= 'A' && seg[i] <= 'Z' ? static_cast<char>(seg[i] - 'A' + 'a') : seg[i];
    if (c != kPrefix[i]) return false;
  }
  return true;
}

bool is_drive_letter(std::string_view seg) {
  return seg.size() >= 2 && seg[1] == ':' &&
         ((seg[0] >= 'A' && seg[0] <= 'Z') || (seg[0] >= 'a' && seg[0] <= 'z'));
}

}  // namespace

result<std::string> sanitize_entry_path(std::string_view raw) {
  const auto unsafe = make_error_code(errc::unsafe_entry);
  if (raw.size() > kMaxPath || raw.find('\0') != std::string_view::npos) return unsafe;
  if (!raw.empty() && (raw.front() == '/' || raw.front() == '\\')) return unsafe;
  const auto segs = segments(raw);
  std::string out;
  for (std::size_t i = 0; i < segs.size(); ++i) {
    const auto seg = segs[i];
    if (seg == ".." || seg.size() > kMaxSegment) return unsafe;
    // Names a Windows machine would turn into another file or a device: refused here too,
    // so what installs on one player's machine installs the same on every other.
    if (seg.back() == '.' || seg.back() == ' ' || proto::is_windows_device_name(seg)) {
      return unsafe;
    }
    if (i == 0 && (is_drive_letter(seg) || is_lanspread_name(seg))) return unsafe;
    if (!out.empty()) out.push_back('/');
    out.append(seg);
  }
  return out;
}

result<void> check_symlink_target(std::string_view entry, std::string_view target) {
  const auto unsafe = make_error_code(errc::unsafe_entry);
  if (target.empty() || target.size() > kMaxPath || target.find('\0') != std::string_view::npos)
    return unsafe;
  if (target.front() == '/' || target.front() == '\\') return unsafe;
  auto stack = segments(entry);
  if (stack.empty()) return unsafe;
  stack.pop_back();  // the link itself; resolution starts in its directory
  const auto segs = segments(target);
  if (!segs.empty() && is_drive_letter(segs.front())) return unsafe;
  // ".." only as a leading run: after a named segment, which may itself be a symlink, ".."
  // resolves physically somewhere else than lexically ("d/y/.." with d/y -> ".." escapes).
  bool named = false;
  for (const auto seg : segs) {
    if (seg == "..") {
      if (named || stack.empty()) return unsafe;
      stack.pop_back();
    } else {
      named = true;
      stack.push_back(seg);
    }
  }
  return {};
}

}  // namespace lanspread::install
