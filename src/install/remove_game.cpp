#include "install/remove_game.hpp"

#include "install/durable_fs.hpp"
#include "proto/layout.hpp"
#include "proto/try.hpp"
#include "proto/validate.hpp"

#include <system_error>

namespace lanspread::install {
namespace {

boost::system::error_code refuse(OperationContext& ctx, errc e, std::string detail) {
  ctx.detail = std::move(detail);
  return make_error_code(e);
}

}  // namespace

result<void> remove_downloaded_game(const std::filesystem::path& games_dir, std::string_view id,
                                    const RemoveGuards& guards, OperationContext& ctx) {
  namespace fs = std::filesystem;
  const std::string name(id);
  if (!proto::validate_game_id(id) || !guards.is_catalog_id || !guards.is_catalog_id(id)) {
    return refuse(ctx, errc::not_catalog_id, "'" + name + "' is not a game of the catalog");
  }
  std::error_code ec;
  const fs::path dir = fs::canonical(games_dir, ec);
  if (ec)
    return refuse(ctx, errc::bad_root, "games directory '" + games_dir.string() + "' is unusable");
  const fs::path root = dir / name;
  if (node_kind(root) != NodeKind::directory) {
    return refuse(ctx, errc::bad_root, "'" + root.string() + "' is not a game directory");
  }
  // A valid id has no separator, so this only fails if the games dir itself moved.
  if (fs::canonical(root, ec).parent_path() != dir || ec) {
    return refuse(ctx, errc::not_direct_child,
                  "'" + root.string() + "' is not directly inside the games directory");
  }
  if (!guards.is_in_flight || guards.is_in_flight(id)) {
    return refuse(ctx, errc::in_flight, "'" + name + "' is being downloaded or installed");
  }
  for (auto reserved : {proto::layout::kIntent, proto::layout::kStaging, proto::layout::kBackup}) {
    if (node_kind(root / std::string(reserved)) != NodeKind::absent) {
      return refuse(ctx, errc::recovery_needed,
                    "'" + name + "' has an unfinished install operation; restart to recover");
    }
  }
  if (node_kind(root / std::string(proto::layout::kLocal)) != NodeKind::absent) {
    return refuse(ctx, errc::installed,
                  "'" + name +
                      "' is installed; installed games cannot be removed, uninstall "
                      "first");
  }
  if (node_kind(root / std::string(proto::layout::kVersionIni)) != NodeKind::regular) {
    return refuse(ctx, errc::not_downloaded,
                  "'" + name + "' has no regular version.ini; it is not a downloaded game");
  }
  ctx.step("mark_root");
  LANSPREAD_TRYV(write_owned_marker(root, ctx.detail));
  ctx.step("move_root_away");
  const fs::path doomed = dir / (std::string(proto::layout::kRemovingPrefix) + name);
  if (node_kind(doomed) != NodeKind::absent) {
    if (!has_owned_marker(doomed)) {
      return refuse(ctx, errc::foreign_directory,
                    "'" + doomed.string() + "' exists and is not Lanspread's; move it away");
    }
    LANSPREAD_TRYV(remove_tree(doomed, ctx.detail));
  }
  if (ctx.stop.stop_requested()) return refuse(ctx, errc::cancelled, "cancelled");
  LANSPREAD_TRYV(rename_durable(root, doomed, ctx.detail));
  ctx.step("remove_root");
  ctx.report("removing", 0, 1);
  // The sentinel goes first: a removal stopped half way leaves an unfinished download (the
  // next download reuses what is left), never a "downloaded" game with files missing.
  LANSPREAD_TRYV(remove_file_durable(doomed / std::string(proto::layout::kVersionIni), ctx.detail));
  std::uint64_t removed = 0;
  auto emptied = remove_contents_reporting(doomed, ctx, removed, ctx.detail);
  if (!emptied && emptied.error() == errc::cancelled) {
    ctx.step("restore_rest");
    LANSPREAD_TRYV(rename_durable(doomed, root, ctx.detail));
    LANSPREAD_TRYV(
        remove_file_durable(root / std::string(proto::layout::kOwnedMarker), ctx.detail));
    return refuse(ctx, errc::cancelled,
                  "cancelled after deleting " + std::to_string(removed) +
                      " entries; what is left is an unfinished download");
  }
  if (!emptied) return emptied;
  LANSPREAD_TRYV(remove_tree(doomed, ctx.detail));
  ctx.step("done");
  return {};
}

}  // namespace lanspread::install
