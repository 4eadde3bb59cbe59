#include "install/payload_plan.hpp"

#include "install/durable_fs.hpp"
#include "proto/layout.hpp"
#include "proto/validate.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <system_error>

namespace lanspread::install {
namespace {

constexpr std::string_view kArchiveSuffixes[] = {
    ".zip",      ".7z",   ".rar",     ".tar",   ".tar.gz",  ".tgz",  ".tar.bz2",
    ".tbz",      ".tbz2", ".tar.xz",  ".txz",   ".tar.zst", ".tzst", ".tar.lz",
    ".tar.lzma", ".tlz",  ".tar.lz4", ".tar.z", ".taz"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A volume of a multi-part archive: the group it belongs to and its order inside it.
struct Volume {
  std::string group;
  unsigned long order = 0;
};

std::optional<Volume> volume_of(const std::string& n) {
  // x.part01.rar
  if (n.ends_with(".rar")) {
    const auto stem = n.substr(0, n.size() - 4);
    const auto dot = stem.rfind(".part");
    if (dot != std::string::npos && all_digits(stem.substr(dot + 5))) {
      return Volume{stem.substr(0, dot) + ".part*.rar", std::stoul(stem.substr(dot + 5))};
    }
    return Volume{stem + ".rar(old)", 0};
  }
  const auto dot = n.rfind('.');
  if (dot == std::string::npos) return std::nullopt;
  const auto ext = n.substr(dot + 1);
  const auto stem = n.substr(0, dot);
  // x.r00 .. x.r99 continue x.rar, then x.s00 .. x.s99 and so on (RAR's old naming).
  if (ext.size() == 3 && ext[0] >= 'r' && ext[0] <= 'y' && all_digits(ext.substr(1))) {
    return Volume{stem + ".rar(old)",
                  static_cast<unsigned long>(ext[0] - 'r') * 100 + std::stoul(ext.substr(1)) + 1};
  }
  // x.7z.001, x.zip.001, x.rar.001: plain byte splits
  if (ext.size() >= 3 && all_digits(ext) && is_archive_name(stem)) {
    return Volume{stem + ".split", std::stoul(ext)};
  }
  return std::nullopt;
}

}  // namespace

bool is_archive_name(std::string_view name) {
  const auto n = lower(name);
  return std::any_of(std::begin(kArchiveSuffixes), std::end(kArchiveSuffixes),
                     [&](std::string_view s) { return n.size() > s.size() && n.ends_with(s); });
}

result<PayloadPlan> plan_payload(const std::filesystem::path& root, std::string& detail) {
  PayloadPlan plan;
  std::map<std::string, std::map<unsigned long, std::filesystem::path>> groups;
  std::map<std::string, bool> has_first;  // old-style rar groups need their .rar
  std::vector<std::string> zips;
  std::vector<std::pair<std::string, std::filesystem::path>> split_zip_parts;

  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root, ec), end;
  if (ec) {
    detail = "cannot list game root '" + root.string() + "': " + ec.message();
    return make_error_code(errc::io_error);
  }
  for (; it != end; it.increment(ec)) {
    if (ec) break;
    const auto& p = it->path();
    const auto rel = p.lexically_relative(root).generic_string();
    const auto name = p.filename().string();
    const bool top = it.depth() == 0;
    const NodeKind kind = node_kind(p);
    if (proto::is_reserved_name(name) || (top && (name == proto::layout::kLocal))) {
      if (kind == NodeKind::directory) it.disable_recursion_pending();
      continue;
    }
    if (kind != NodeKind::regular) continue;  // directories are walked; links are ignored
    if (top && name == proto::layout::kVersionIni) continue;
    const auto size = static_cast<std::uint64_t>(std::filesystem::file_size(p, ec));
    if (ec) break;
    const auto lname = lower(name);
    if (top) {
      if (auto v = volume_of(lname)) {
        groups[v->group][v->order] = p;
        if (v->group.ends_with("(old)") && v->order == 0) has_first[v->group] = true;
        plan.archive_bytes += size;
        continue;
      }
      if (lname.size() > 4 && lname[lname.size() - 4] == '.' && lname[lname.size() - 3] == 'z' &&
          all_digits(lname.substr(lname.size() - 2))) {
        split_zip_parts.emplace_back(lname.substr(0, lname.size() - 4) + ".zip", p);
        continue;
      }
      if (is_archive_name(lname)) {
        groups[lname][0] = p;
        if (lname.ends_with(".zip")) zips.push_back(lname);
        plan.archive_bytes += size;
        continue;
      }
    }
    plan.loose_files.push_back(rel);
    plan.loose_bytes += size;
  }
  if (ec) {
    detail = "cannot list game root '" + root.string() + "': " + ec.message();
    return make_error_code(errc::io_error);
  }
  for (const auto& [zip, part] : split_zip_parts) {
    if (std::find(zips.begin(), zips.end(), zip) != zips.end()) {
      detail = "split zip '" + part.filename().string() +
               "' cannot be extracted; publish the game as one zip or as 7z/rar volumes";
      return make_error_code(errc::unsupported_archive);
    }
    // Not part of a zip we know: ordinary payload.
    plan.loose_files.push_back(part.lexically_relative(root).generic_string());
  }
  for (auto& [key, volumes] : groups) {
    if (key.ends_with("(old)") && !has_first[key]) {
      // .r00 files without their .rar are not an archive we can open; keep them as data.
      for (auto& [order, p] : volumes) {
        plan.loose_files.push_back(p.lexically_relative(root).generic_string());
        std::error_code sec;
        const auto s = std::filesystem::file_size(p, sec);
        plan.archive_bytes -= sec ? 0 : s;
        plan.loose_bytes += sec ? 0 : s;
      }
      continue;
    }
    ArchiveVolumes av;
    for (auto& [order, p] : volumes) av.volumes.push_back(p);
    plan.archives.push_back(std::move(av));
  }
  std::sort(plan.archives.begin(), plan.archives.end(), [](const auto& a, const auto& b) {
    return a.volumes.front().filename() < b.volumes.front().filename();
  });
  std::sort(plan.loose_files.begin(), plan.loose_files.end());
  return plan;
}

}  // namespace lanspread::install
