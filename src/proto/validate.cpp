#include "proto/validate.hpp"

#include "proto/layout.hpp"
#include "proto/limits.hpp"

#include <limits>
#include <string>
#include <unordered_set>

namespace lanspread::proto {
namespace {

char ascii_lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// ASCII case-insensitive: how Windows and macOS compare these names by default.
bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) noexcept {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

// Windows names devices, not files, by these base names (any case, any extension).
constexpr std::string_view kDeviceNames[] = {
    "con", "prn", "aux", "nul", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8",
    "com9", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9", "conin$",
    "conout$",
    // COM and LPT with a superscript digit one, two or three (UTF-8) are devices too.
    "com\xc2\xb9", "com\xc2\xb2", "com\xc2\xb3", "lpt\xc2\xb9", "lpt\xc2\xb2", "lpt\xc2\xb3"};

result<void> validate_segment(std::string_view seg) noexcept {
  if (seg.empty() || seg == "." || seg == "..") return errc::bad_path;
  if (seg.size() > kMaxSegmentLength) return errc::bad_path;
  if (seg.back() == '.' || seg.back() == ' ') return errc::bad_path;
  for (unsigned char c : seg) {
    if (c < 0x20 || c == 0x7f || c == '\\' || c == ':') return errc::bad_path;
  }
  if (is_reserved_name(seg) || is_windows_device_name(seg)) return errc::bad_path;
  return {};
}

}  // namespace

result<void> validate_game_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxIdLength) return errc::bad_id;
  auto ok_first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok_first(id.front())) return errc::bad_id;
  for (char c : id) {
    if (!ok_first(c) && c != '-' && c != '_') return errc::bad_id;
  }
  return {};
}

bool is_reserved_name(std::string_view segment) noexcept {
  for (const auto prefix : layout::kReservedPrefixes) {
    if (istarts_with(segment, prefix)) return true;
  }
  return false;
}

bool is_own_name(std::string_view segment) noexcept {
  for (const auto prefix : layout::kReservedPrefixes) {
    if (segment.starts_with(prefix)) return true;
  }
  return false;
}

bool is_windows_device_name(std::string_view segment) noexcept {
  std::string_view base = segment.substr(0, segment.find('.'));
  while (!base.empty() && base.back() == ' ') base.remove_suffix(1);
  for (const auto device : kDeviceNames) {
    if (iequals(base, device)) return true;
  }
  return false;
}

result<void> validate_relative_path(std::string_view path) noexcept {
  if (path.empty() || path.size() > kMaxPathLength) return errc::bad_path;
  if (path.front() == '/') return errc::bad_path;
  std::size_t depth = 0;
  std::size_t start = 0;
  while (true) {
    const std::size_t slash = path.find('/', start);
    const std::string_view seg = path.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (auto r = validate_segment(seg); !r) return r;
    // At the top, any spelling of local/ names the installed tree, and one of version.ini
    // other than the sentinel's own would overwrite it on a case-insensitive filesystem.
    if (depth == 0 && (iequals(seg, layout::kLocal) ||
                       (iequals(seg, layout::kVersionIni) && seg != layout::kVersionIni))) {
      return errc::bad_path;
    }
    if (++depth > kMaxPathDepth) return errc::bad_path;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

result<void> validate_version(std::string_view version) noexcept {
  if (version.empty() || version.size() > kMaxVersionLength) return errc::bad_version;
  for (unsigned char c : version) {
    if (c < 0x20 || c == 0x7f) return errc::bad_version;
  }
  return {};
}

result<void> validate_range(std::uint64_t offset, std::uint64_t length,
                            std::uint64_t file_size) noexcept {
  if (length == 0 || length > kMaxChunkSize) return errc::bad_range;
  if (offset > file_size) return errc::bad_range;
  if (length > file_size - offset) return errc::bad_range;  // no overflow: offset <= size
  return {};
}

result<void> validate_request(const Request& request) noexcept {
  struct Visitor {
    result<void> operator()(const Ping&) const { return {}; }
    result<void> operator()(const ListGames&) const { return {}; }
    result<void> operator()(const GetGame& r) const { return validate_game_id(r.id); }
    result<void> operator()(const GetGameFileData& r) const {
      if (auto v = validate_game_id(r.game_id); !v) return v;
      return validate_relative_path(r.path);
    }
    result<void> operator()(const GetGameFileChunk& r) const {
      if (auto v = validate_game_id(r.game_id); !v) return v;
      if (auto v = validate_relative_path(r.path); !v) return v;
      // The file's size is known only to the server; here: non-empty, bounded, no overflow.
      return validate_range(r.offset, r.length, std::numeric_limits<std::uint64_t>::max());
    }
    result<void> operator()(const GetGameFiles& r) const {
      if (auto v = validate_game_id(r.game_id); !v) return v;
      if (r.paths.empty() || r.paths.size() > kMaxFilesPerBatch) return errc::bad_value;
      std::unordered_set<std::string_view> seen;
      for (const auto& path : r.paths) {
        if (auto v = validate_relative_path(path); !v) return v;
        if (!seen.insert(path).second) return errc::inconsistent;
      }
      // Each file at least a byte: their sizes in all at least one per file, and one chunk at
      // most (the server checks its own manifest's chunk size).
      if (r.length < r.paths.size() || r.length > kMaxChunkSize) return errc::bad_range;
      return {};
    }
    result<void> operator()(const GetChunkMap& r) const {
      if (auto v = validate_game_id(r.game_id); !v) return v;
      return validate_version(r.version);
    }
  };
  return std::visit(Visitor{}, request);
}

namespace {

result<void> validate_summary(const GameSummary& s) noexcept {
  if (auto v = validate_game_id(s.id); !v) return v;
  if (s.downloaded) {
    if (auto v = validate_version(s.version); !v) return v;
  } else if (!s.version.empty()) {
    if (auto v = validate_version(s.version); !v) return v;
  }
  if (!s.partial_version.empty()) {
    if (auto v = validate_version(s.partial_version); !v) return v;
  }
  return {};
}

result<void> validate_game_unchecked(const Game& g) {
  if (auto v = validate_game_id(g.id); !v) return v;
  if (auto v = validate_version(g.version); !v) return v;
  if (g.chunk_size < kMinChunkSize || g.chunk_size > kMaxChunkSize) return errc::bad_value;
  if (g.files.size() > kMaxFilesPerGame) return errc::too_many;
  std::unordered_set<std::string_view> seen;
  seen.reserve(g.files.size());
  std::uint64_t total = 0;
  for (const auto& f : g.files) {
    if (auto v = validate_relative_path(f.path); !v) return v;
    if (!seen.insert(f.path).second) return errc::inconsistent;
    if (f.is_dir) {
      if (f.size != 0 || !f.chunk_hashes.empty()) return errc::inconsistent;
      continue;
    }
    if (f.size > kMaxFileSize) return errc::bad_value;
    if (f.chunk_hashes.size() != chunk_count(f.size, g.chunk_size)) return errc::inconsistent;
    if (total > std::numeric_limits<std::uint64_t>::max() - f.size) return errc::bad_value;
    total += f.size;
  }
  return {};
}

}  // namespace

result<void> validate_game(const Game& g) noexcept {
  try {
    return validate_game_unchecked(g);
  } catch (const std::bad_alloc&) {
    return errc::too_many;
  }
}

result<void> validate_response(const Response& response) noexcept {
  struct Visitor {
    result<void> operator()(const Pong& r) const {
      if (r.peer_id.empty() || r.peer_id.size() > kMaxPeerIdLength) return errc::bad_value;
      return {};
    }
    result<void> operator()(const Games& r) const {
      if (r.games.size() > kMaxGames) return errc::too_many;
      std::unordered_set<std::string_view> seen;
      for (const auto& g : r.games) {
        if (auto v = validate_summary(g); !v) return v;
        if (!seen.insert(g.id).second) return errc::inconsistent;
      }
      return {};
    }
    result<void> operator()(const Game& r) const { return validate_game(r); }
    result<void> operator()(const FileData&) const { return {}; }
    result<void> operator()(const Error& r) const {
      if (r.message.size() > kMaxMessageLength) return errc::bad_value;
      return {};
    }
    result<void> operator()(const ChunkMap& r) const {
      if (auto v = validate_game_id(r.id); !v) return v;
      if (auto v = validate_version(r.version); !v) return v;
      if (r.chunks > kMaxChunkHashesPerGame) return errc::too_many;
      if (r.bitmap.size() != (r.chunks + 7) / 8) return errc::inconsistent;
      // The bits past the last chunk are zero: one spelling of each map.
      if (r.chunks % 8 != 0 && (r.bitmap.back() & (0xffu >> (r.chunks % 8))) != 0)
        return errc::inconsistent;
      return {};
    }
  };
  return std::visit(Visitor{}, response);
}

}  // namespace lanspread::proto
