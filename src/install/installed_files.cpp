#include "install/installed_files.hpp"

#include "install/durable_fs.hpp"
#include "proto/layout.hpp"

#include <boost/json.hpp>

#include <system_error>

namespace lanspread::install {
namespace {

constexpr std::string_view kFormat = "lanspread.installed-files";
constexpr std::size_t kMaxListBytes = 256ull << 20;

bool is_own_file(const std::string& rel) {
  return rel == proto::layout::kOwnedMarker || rel == proto::layout::kInstalledFiles ||
         rel == std::string(proto::layout::kInstalledFiles) + ".tmp";
}

}  // namespace

result<std::set<std::string>> list_tree_files(const std::filesystem::path& tree,
                                              std::string& detail) {
  std::set<std::string> out;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(tree, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) continue;
    auto rel = it->path().lexically_relative(tree).generic_string();
    if (!is_own_file(rel)) out.insert(std::move(rel));
  }
  if (ec) {
    detail = "cannot list '" + tree.string() + "': " + ec.message();
    return error_from_errno(ec.value());
  }
  return out;
}

result<void> write_installed_files(const std::filesystem::path& tree,
                                   const std::set<std::string>& files, const std::string& version,
                                   std::string& detail) {
  boost::json::object o;
  o["format"] = kFormat;
  o["version"] = version;
  boost::json::array list;
  list.reserve(files.size());
  for (const auto& f : files) list.emplace_back(f);
  o["files"] = std::move(list);
  return write_file_atomic(tree, proto::layout::kInstalledFiles, boost::json::serialize(o), detail);
}

std::optional<std::set<std::string>> read_installed_files(const std::filesystem::path& tree) {
  std::string detail;
  auto text =
      read_small_file(tree / std::string(proto::layout::kInstalledFiles), kMaxListBytes, detail);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  const auto v = boost::json::parse(*text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* format = v.get_object().if_contains("format");
  const auto* files = v.get_object().if_contains("files");
  if (!format || !format->is_string() || format->get_string() != kFormat) return std::nullopt;
  if (!files || !files->is_array()) return std::nullopt;
  std::set<std::string> out;
  for (const auto& f : files->get_array()) {
    if (!f.is_string()) return std::nullopt;
    out.emplace(f.get_string());
  }
  return out;
}

}  // namespace lanspread::install
