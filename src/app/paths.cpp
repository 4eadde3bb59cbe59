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

}  // namespace lanspread::app
