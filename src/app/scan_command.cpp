#include "app/scan_command.hpp"

#include "app/paths.hpp"
#include "library/catalog.hpp"
#include "library/scan.hpp"
#include "proto/codec.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

namespace lanspread::app {
namespace {

struct ScanArgs {
  std::string games_dir;
  std::string catalog;
  bool json = false;
  bool no_hash = false;
  unsigned threads = 0;
};

std::string human_size(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", v, kUnits[u]);
}

std::string state_of(const library::LocalGame& g) {
  if (g.installed && g.downloaded) return "installed";
  if (g.installed) return "installed (no download)";
  if (g.downloaded) return "downloaded";
  return "partial";
}

void print_json(const library::LocalLibrary& lib, const library::Catalog& catalog) {
  namespace json = boost::json;
  json::array games;
  for (const auto& g : lib.games) {
    const auto* entry = catalog.find(g.id);
    json::array problems;
    for (const auto& p : g.problems) problems.emplace_back(p);
    json::object o{{"id", g.id},
                   {"name", entry ? entry->name : g.id},
                   {"root", g.root.string()},
                   {"downloaded", g.downloaded},
                   {"installed", g.installed},
                   {"version", g.version},
                   {"size", g.size},
                   {"file_count", g.file_count},
                   {"summary", proto::to_json(g.summary())},
                   {"manifest", g.manifest ? proto::to_json(*g.manifest) : json::value(nullptr)},
                   {"problems", std::move(problems)}};
    games.push_back(std::move(o));
  }
  json::array ignored;
  for (const auto& i : lib.ignored)
    ignored.push_back(json::object{{"name", i.name}, {"reason", i.reason}});
  const json::object doc{{"games_dir", lib.game_dir.string()},
                         {"games", std::move(games)},
                         {"ignored", std::move(ignored)}};
  std::fputs(json::serialize(doc).c_str(), stdout);
  std::fputc('\n', stdout);
}

void print_table(const library::LocalLibrary& lib, const library::Catalog& catalog) {
  fmt::print("Games dir: {}\n", lib.game_dir.string());
  if (lib.games.empty()) {
    std::string ids;
    for (const auto& [id, entry] : catalog.entries()) ids += (ids.empty() ? "" : ", ") + id;
    fmt::print(
        "No catalog games here yet. A game lives in <games dir>/<id>/ with a version.ini.\n"
        "Catalog ids: {}\n",
        ids);
  } else {
    fmt::print("{:<14} {:<24} {:<12} {:<14} {:>10} {:>7}\n", "ID", "NAME", "STATE", "VERSION",
               "SIZE", "FILES");
    for (const auto& g : lib.games) {
      const auto* entry = catalog.find(g.id);
      fmt::print("{:<14} {:<24} {:<12} {:<14} {:>10} {:>7}\n", g.id, entry ? entry->name : g.id,
                 state_of(g), g.version.empty() ? "-" : g.version, human_size(g.size),
                 g.file_count);
    }
  }
  std::size_t downloaded = 0;
  std::size_t installed = 0;
  for (const auto& g : lib.games) {
    downloaded += g.downloaded ? 1 : 0;
    installed += g.installed ? 1 : 0;
  }
  fmt::print("{} game(s): {} downloaded, {} installed; {} other entr{} ignored\n", lib.games.size(),
             downloaded, installed, lib.ignored.size(), lib.ignored.size() == 1 ? "y" : "ies");
  for (const auto& g : lib.games) {
    for (const auto& p : g.problems) fmt::print("  warning: {}: {}\n", g.id, p);
  }
}

int run_scan(const ScanArgs& args) {
  const auto catalog = load_catalog(args.catalog);
  if (!catalog) {
    fmt::print(stderr, "lanspread: {}\n", catalog.error().message());
    return 1;
  }
  const std::filesystem::path games_dir = resolve_games_dir(args.games_dir);
  library::ScanOptions options;
  options.hash = !args.no_hash;
  options.threads = args.threads;
  auto lib = library::scan_local_library(games_dir, **catalog, options);
  if (!lib) {
    fmt::print(stderr, "lanspread: {}: {}\n", games_dir.string(), lib.error().message());
    if (lib.error() == library::errc::games_dir_missing) {
      fmt::print(stderr, "Create it, or pass --games DIR to scan another directory.\n");
    }
    return 1;
  }
  if (args.json) {
    print_json(*lib, **catalog);
  } else {
    print_table(*lib, **catalog);
  }
  return 0;
}

}  // namespace

void add_scan_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand("scan", "List the catalog games in the games dir");
  cmd->add_option("--games", args->games_dir,
                  "Games directory (default: $LANSPREAD_GAMES_DIR or "
                  "~/.local/share/lanspread/games)");
  cmd->add_option("--catalog", args->catalog, "Catalog file to use instead of the bundled one");
  cmd->add_flag("--json", args->json, "Print one JSON document with summaries and manifests");
  cmd->add_flag("--no-hash", args->no_hash, "Skip chunk hashing (no manifests)");
  cmd->add_option("--threads", args->threads, "Hashing threads (default: one per CPU)");
  cmd->callback([args, &exit_code] { exit_code = run_scan(*args); });
}

}  // namespace lanspread::app
