// Default locations. Each can be overridden by a flag or an environment variable.
#pragma once

#include <filesystem>

namespace lanspread::app {

// $LANSPREAD_GAMES_DIR, else <data dir>/lanspread/games.
std::filesystem::path default_games_dir();
// $LANSPREAD_STATE_DIR, else <data dir>/lanspread/state.
std::filesystem::path default_state_dir();
// $XDG_DATA_HOME, else $HOME/.local/share, else the current directory.
std::filesystem::path user_data_dir();

}  // namespace lanspread::app
