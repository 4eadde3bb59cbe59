#include "app/cli_format.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <cmath>

namespace lanspread::app::cli {
namespace json = boost::json;

std::string string_field(const json::value& v, std::string_view key) {
  const json::value* f = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return f && f->is_string() ? std::string(f->get_string()) : std::string();
}

std::optional<std::uint64_t> uint_field(const json::value& v, std::string_view key) {
  const json::value* f = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  if (f == nullptr) return std::nullopt;
  if (f->is_uint64()) return f->get_uint64();
  if (f->is_int64() && f->get_int64() >= 0) return static_cast<std::uint64_t>(f->get_int64());
  if (f->is_double() && f->get_double() >= 0 && f->get_double() < 1.8e19)
    return static_cast<std::uint64_t>(f->get_double());
  return std::nullopt;
}

bool bool_field(const json::value& v, std::string_view key) {
  const json::value* f = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return f && f->is_bool() && f->get_bool();
}

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      out += '?';  // a C1 control in UTF-8 (0xc2 0x80..0x9f), e.g. CSI
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string format_size(std::uint64_t bytes) {
  static constexpr std::array<const char*, 6> kUnits{"B", "kB", "MB", "GB", "TB", "PB"};
  if (bytes < 1000) return fmt::format("{} B", bytes);
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1000 && u + 1 < kUnits.size()) {
    v /= 1000;
    ++u;
  }
  // Three significant digits for GB and up, where a tenth is hundreds of megabytes.
  if (u >= 3 && v < 10) return fmt::format("{:.2f} {}", std::floor(v * 100) / 100, kUnits[u]);
  return fmt::format("{:.1f} {}", std::floor(v * 10) / 10, kUnits[u]);
}

std::string format_rate(std::uint64_t bytes_per_second) {
  return format_size(bytes_per_second) + "/s";
}

std::string format_duration(std::uint64_t seconds) {
  constexpr std::uint64_t kMax = 99 * 3600 + 59 * 60 + 59;
  if (seconds > kMax) return "99:59:59+";
  const auto h = seconds / 3600;
  const auto m = seconds / 60 % 60;
  const auto s = seconds % 60;
  return h > 0 ? fmt::format("{}:{:02}:{:02}", h, m, s) : fmt::format("{}:{:02}", m, s);
}

OperationView starting_operation(const std::string& id, const std::string& kind) {
  OperationView op;
  op.id = id;
  op.kind = kind;
  op.phase = "starting";
  return op;
}

OperationView operation_from_json(const json::value& v, const std::string& id) {
  OperationView op;
  op.id = string_field(v, "id");
  if (op.id.empty()) op.id = id;
  op.kind = string_field(v, "kind");
  op.phase = string_field(v, "phase");
  op.done = uint_field(v, "done").value_or(0);
  op.total = uint_field(v, "total").value_or(0);
  op.verified = uint_field(v, "verified");
  op.bytes_per_second = uint_field(v, "bytes_per_second");
  op.eta_seconds = uint_field(v, "eta_seconds");
  op.stalled_seconds = uint_field(v, "stalled_seconds");
  op.active_peers = uint_field(v, "active_peers");
  return op;
}

std::optional<unsigned> percent_of(const OperationView& op) {
  if (op.total == 0) return std::nullopt;
  const std::uint64_t done = std::min(op.done, op.total);
  // done * 100 cannot overflow for any real size (< 1.8e17 bytes).
  return static_cast<unsigned>(done >= op.total ? 100 : done * 100 / op.total);
}

std::string activity_of(const OperationView& op) {
  if (op.kind == "download" || op.kind == "verify") {
    if (op.phase == "resolving") return "looking for peers";
    if (op.phase == "checking") return "checking";  // what is already on disk
    if (op.phase == "committing") return "finishing";
    if (op.phase == "waiting_for_peers") return "waiting for peers";
    return op.kind == "verify" ? "repairing" : "downloading";
  }
  if (op.phase == "waiting_for_game") return "waiting for the game to close";
  if (op.kind == "install") return "installing";
  if (op.kind == "update") return "updating";
  if (op.kind == "uninstall") return "uninstalling";
  if (op.kind == "remove") return "removing";
  return op.kind.empty() ? std::string("working") : printable(op.kind);
}

std::string progress_line(const OperationView& op, std::size_t width) {
  const bool download = op.kind == "download" || op.kind == "verify";
  const auto pct = percent_of(op);
  // Parts in the order shown; each has a priority: the lowest goes first when space runs out.
  struct Part {
    std::string text;
    int priority;
  };
  std::vector<Part> parts;
  parts.push_back({fmt::format("{}  {:<12}", printable(op.id), activity_of(op)), 100});
  // Without a total yet (starting, resolving) the line says only what is happening.
  if (pct) {
    parts.push_back({fmt::format("{:>3}%", *pct), 90});
    constexpr std::size_t kBar = 20;
    const std::size_t filled = *pct * kBar / 100;
    parts.push_back({"[" + std::string(filled, '#') + std::string(kBar - filled, ' ') + "]", 10});
  }
  if (download && op.total > 0) {
    parts.push_back({format_size(op.done) + " / " + format_size(op.total), 40});
  }
  // Speed, ETA and peers while bytes are missing; at 100 % they are noise.
  if (download && op.phase == "downloading" && (!pct || *pct < 100)) {
    if (op.stalled_seconds && *op.stalled_seconds >= 5) {
      parts.push_back({"stalled " + format_duration(*op.stalled_seconds), 80});
    } else if (op.bytes_per_second) {
      parts.push_back({format_rate(*op.bytes_per_second), 80});
    }
    parts.push_back({"ETA " + (op.eta_seconds ? format_duration(*op.eta_seconds) : "-:--"), 60});
    if (op.active_peers) {
      parts.push_back({*op.active_peers == 0 ? std::string("waiting for peers")
                                             : fmt::format("{} peer{}", *op.active_peers,
                                                           *op.active_peers == 1 ? "" : "s"),
                       50});
    }
  }
  auto joined = [&] {
    std::string s;
    for (const auto& p : parts) s += (s.empty() ? "" : "  ") + p.text;
    while (!s.empty() && s.back() == ' ') s.pop_back();
    return s;
  };
  std::string line = joined();
  while (line.size() > width && parts.size() > 1) {
    auto lowest =
        std::min_element(parts.begin() + 1, parts.end(),
                         [](const Part& a, const Part& b) { return a.priority < b.priority; });
    parts.erase(lowest);
    line = joined();
  }
  return line;
}

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows,
                         const std::vector<std::size_t>& right) {
  std::vector<std::size_t> widths(header.size());
  for (std::size_t c = 0; c < header.size(); ++c) widths[c] = header[c].size();
  for (const auto& row : rows) {
    for (std::size_t c = 0; c < header.size() && c < row.size(); ++c)
      widths[c] = std::max(widths[c], row[c].size());
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t c = 0; c < header.size(); ++c) {
      const std::string cell = c < cells.size() ? cells[c] : std::string();
      const bool last = c + 1 == header.size();
      const bool align_right = std::find(right.begin(), right.end(), c) != right.end();
      if (c > 0) out += "  ";
      if (align_right) {
        out += std::string(widths[c] - cell.size(), ' ') + cell;
      } else {
        out += cell;
        if (!last) out += std::string(widths[c] - cell.size(), ' ');
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(header);
  for (const auto& row : rows) out += line(row);
  return out;
}

std::string game_state(const json::value& game) {
  std::string state = bool_field(game, "installed")    ? "installed"
                      : bool_field(game, "downloaded") ? "downloaded"
                      : bool_field(game, "available")  ? "available"
                                                       : "-";
  if (bool_field(game, "update_available") &&
      (bool_field(game, "installed") || bool_field(game, "downloaded")))
    state += " (update)";
  return state;
}

}  // namespace lanspread::app::cli
