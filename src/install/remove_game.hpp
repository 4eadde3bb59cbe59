// Removal of a downloaded (not installed) game: deletes the whole game root.
//
// Deliberately separate from uninstall and guarded, because it deletes the payload:
//  - `id` is a valid game id and a catalog id (not_catalog_id);
//  - the root is a real directory (not a symlink) and a direct child of `games_dir`
//    (bad_root / not_direct_child);
//  - no operation on the game is running (in_flight) and no install state is left
//    (recovery_needed);
//  - the game is not installed: no local/ of any kind (installed);
//  - the root holds a regular root-level version.ini (not_downloaded).
// The root gets an ownership marker and is renamed to .lanspread.removing.<id> before it is
// deleted, so a crash never leaves a half-deleted game under its id; recovery finishes it.
// Blocking: call from a worker thread.
#pragma once

#include "install/error.hpp"
#include "install/operation.hpp"

#include <filesystem>
#include <functional>
#include <string_view>

namespace lanspread::install {

struct RemoveGuards {
  std::function<bool(std::string_view id)> is_catalog_id;  // required
  std::function<bool(std::string_view id)> is_in_flight;   // required
};

result<void> remove_downloaded_game(const std::filesystem::path& games_dir, std::string_view id,
                                    const RemoveGuards& guards, OperationContext& ctx);

}  // namespace lanspread::install
