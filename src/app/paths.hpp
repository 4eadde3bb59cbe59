// Default locations. Each can be overridden by a flag or an environment variable.
#pragma once

#include "library/catalog.hpp"

#include <boost/system/result.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace lanspread::app {

// $LANSPREAD_GAMES_DIR, else <data dir>/lanspread/games.
std::filesystem::path default_games_dir();
// $LANSPREAD_STATE_DIR, else <data dir>/lanspread/state.
std::filesystem::path default_state_dir();
// `given`, or the default games dir, created when missing (the default location is ours to
// create, so a first run works with no flags; a dir the user names must exist).
std::filesystem::path resolve_games_dir(const std::string& given);
// The catalog of `--catalog FILE`, or the bundled one when `path` is empty.
boost::system::result<std::shared_ptr<const library::Catalog>, library::CatalogError> load_catalog(
    const std::string& path);
// $XDG_DATA_HOME, else $HOME/.local/share, else the current directory.
std::filesystem::path user_data_dir();

}  // namespace lanspread::app
