#include "app/paths.hpp"

#include <cstdlib>

namespace lanspread::app {
namespace {
const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : nullptr;
}
}  // namespace

std::filesystem::path user_data_dir() {
  if (const char* xdg = env("XDG_DATA_HOME")) return xdg;
  if (const char* home = env("HOME")) return std::filesystem::path(home) / ".local" / "share";
  return std::filesystem::current_path();
}

std::filesystem::path default_games_dir() {
  if (const char* dir = env("LANSPREAD_GAMES_DIR")) return dir;
  return user_data_dir() / "lanspread" / "games";
}

std::filesystem::path default_state_dir() {
  if (const char* dir = env("LANSPREAD_STATE_DIR")) return dir;
  return user_data_dir() / "lanspread" / "state";
}

std::filesystem::path resolve_games_dir(const std::string& given) {
  if (!given.empty()) return given;
  std::filesystem::path dir = default_games_dir();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  return dir;
}

boost::system::result<std::shared_ptr<const library::Catalog>, library::CatalogError> load_catalog(
    const std::string& path) {
  if (path.empty()) return std::make_shared<const library::Catalog>(library::Catalog::bundled());
  auto c = library::Catalog::load_file(path);
  if (!c) return c.error();
  return std::make_shared<const library::Catalog>(std::move(*c));
}

}  // namespace lanspread::app
