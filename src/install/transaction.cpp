#include "install/transaction.hpp"

#include "install/durable_fs.hpp"
#include "install/installed_files.hpp"
#include "install/intent_log.hpp"
#include "install/payload_plan.hpp"
#include "install/recovery.hpp"
#include "proto/layout.hpp"
#include "proto/try.hpp"

#include <unistd.h>

#include <system_error>

namespace lanspread::install {
namespace {

namespace fs = std::filesystem;

struct Paths {
  explicit Paths(const fs::path& r)
      : root(r),
        local(r / std::string(proto::layout::kLocal)),
        staging(r / std::string(proto::layout::kStaging)),
        backup(r / std::string(proto::layout::kBackup)) {}
  fs::path root, local, staging, backup;
};

boost::system::error_code refuse(OperationContext& ctx, errc e, std::string detail) {
  ctx.detail = std::move(detail);
  return make_error_code(e);
}

result<void> check_clean(const Paths& p, OperationContext& ctx) {
  if (node_kind(p.root) != NodeKind::directory) {
    return refuse(ctx, errc::bad_root, "'" + p.root.string() + "' is not a game directory");
  }
  if (node_kind(p.root / std::string(proto::layout::kIntent)) != NodeKind::absent) {
    return refuse(ctx, errc::recovery_needed,
                  "'" + p.root.string() + "' has an unfinished install operation");
  }
  for (const auto* dir : {&p.staging, &p.backup}) {
    if (node_kind(*dir) == NodeKind::absent) continue;
    if (has_owned_marker(*dir)) {
      return refuse(ctx, errc::recovery_needed, "'" + dir->string() + "' is left over");
    }
    return refuse(ctx, errc::foreign_directory,
                  "'" + dir->string() + "' was not created by Lanspread; move it away");
  }
  return {};
}

// Carries files of the old tree that the old archives did not create into the staged tree.
// With a file list from the old install, a player file wins over a shipped file of the same
// path; without one, anything the new version ships wins and the rest is carried.
result<std::set<std::string>> carry_player_files(const Paths& p,
                                                 const std::set<std::string>& new_files,
                                                 OperationContext& ctx) {
  const auto shipped = read_installed_files(p.local);
  LANSPREAD_TRY(const auto old_files, list_tree_files(p.local, ctx.detail));
  std::set<std::string> carried;
  std::uint64_t done = 0;
  for (const auto& rel : old_files) {
    if (ctx.stop.stop_requested()) return refuse(ctx, errc::cancelled, "cancelled");
    const bool keep = shipped ? !shipped->contains(rel) : !new_files.contains(rel);
    if (!keep) continue;
    const fs::path src = p.local / rel;
    const fs::path dst = p.staging / rel;
    std::error_code ec;
    fs::create_directories(dst.parent_path(), ec);
    const NodeKind existing = node_kind(dst);
    if (ec || existing == NodeKind::directory || existing == NodeKind::other) {
      return refuse(ctx, errc::carry_conflict,
                    "player file '" + rel +
                        "' collides with a directory of the new version; move it out of "
                        "local/ and retry");
    }
    if (existing != NodeKind::absent) fs::remove(dst, ec);
    if (node_kind(src) == NodeKind::symlink) {
      fs::copy_symlink(src, dst, ec);
    } else if (::link(src.c_str(), dst.c_str()) != 0) {
      // A hard link costs no space and no time; filesystems without them get a copy.
      ec.clear();
      fs::copy_file(src, dst, fs::copy_options::overwrite_existing, ec);
    }
    if (ec) {
      ctx.detail = "cannot carry player file '" + src.string() + "': " + ec.message();
      return error_from_errno(ec.value());
    }
    carried.insert(rel);
    ctx.report("carrying", ++done, old_files.size());
  }
  return carried;
}

result<void> copy_loose_files(const Paths& p, const PayloadPlan& plan, std::uint64_t base,
                              std::uint64_t total, OperationContext& ctx) {
  std::uint64_t done = base;
  for (const auto& rel : plan.loose_files) {
    if (ctx.stop.stop_requested()) return refuse(ctx, errc::cancelled, "cancelled");
    const fs::path dst = p.staging / rel;
    std::error_code ec;
    fs::create_directories(dst.parent_path(), ec);
    if (!ec && node_kind(dst) == NodeKind::symlink) fs::remove(dst, ec);
    if (!ec) fs::copy_file(p.root / rel, dst, fs::copy_options::overwrite_existing, ec);
    if (ec) {
      ctx.detail = "cannot copy payload file '" + rel + "' into the install: " + ec.message();
      return error_from_errno(ec.value());
    }
    done += fs::file_size(dst, ec);
    ctx.report("copying", done, total);
  }
  return {};
}

result<InstallReport> build_staging(const Paths& p, const PayloadPlan& plan,
                                    const InstallOptions& opt, bool update, OperationContext& ctx) {
  InstallReport report;
  report.updated = update;
  ctx.step("create_staging");
  LANSPREAD_TRYV(create_owned_dir(p.staging, ctx.detail));
  const std::uint64_t total = plan.archive_bytes + plan.loose_bytes;
  std::uint64_t base = 0;
  for (const auto& av : plan.archives) {
    ctx.step("extract:" + av.volumes.front().filename().string());
    LANSPREAD_TRY(const auto stats,
                  opt.unpacker->unpack(av, p.staging, opt.limits, ctx, base, total));
    base += stats.archive_bytes;
    report.archives++;
    report.entries += stats.entries;
    report.bytes_written += stats.bytes_written;
  }
  ctx.step("copy_loose_files");
  LANSPREAD_TRYV(copy_loose_files(p, plan, base, total, ctx));
  report.loose_files = plan.loose_files.size();
  LANSPREAD_TRY(auto files, list_tree_files(p.staging, ctx.detail));
  if (update) {
    ctx.step("carry_player_files");
    LANSPREAD_TRY(const auto carried, carry_player_files(p, files, ctx));
    report.carried_files = carried.size();
    // A carried file stays a player file at the next update, even where it replaced one
    // the archives ship.
    for (const auto& c : carried) files.erase(c);
  }
  ctx.step("write_file_list");
  LANSPREAD_TRYV(write_installed_files(p.staging, files, opt.version, ctx.detail));
  ctx.step("sync_staging");
  LANSPREAD_TRYV(sync_filesystem(p.staging, ctx.detail));
  if (ctx.stop.stop_requested()) return refuse(ctx, errc::cancelled, "cancelled");
  return report;
}

result<void> swap_in(const Paths& p, const InstallOptions& opt, bool update,
                     OperationContext& ctx) {
  const Operation op = update ? Operation::update : Operation::install;
  ctx.step("intent_swapping");
  LANSPREAD_TRYV(write_intent(p.root, {op, Phase::swapping, opt.version}, ctx.detail));
  if (update) {
    ctx.step("move_local_to_backup");
    LANSPREAD_TRYV(rename_durable(p.local, p.backup, ctx.detail));
    ctx.step("mark_backup");
    LANSPREAD_TRYV(write_owned_marker(p.backup, ctx.detail));
  }
  ctx.step("move_staging_to_local");
  LANSPREAD_TRYV(rename_durable(p.staging, p.local, ctx.detail));
  ctx.step("unmark_local");
  LANSPREAD_TRYV(
      remove_file_durable(p.local / std::string(proto::layout::kOwnedMarker), ctx.detail));
  if (update) {
    ctx.step("intent_cleanup");
    LANSPREAD_TRYV(write_intent(p.root, {op, Phase::cleanup, opt.version}, ctx.detail));
    ctx.step("remove_backup");
    LANSPREAD_TRYV(remove_tree(p.backup, ctx.detail));
  }
  ctx.step("clear_intent");
  return clear_intent(p.root, ctx.detail);
}

// After a failure past the first intent write: let recovery restore a consistent root, and
// return the original error.
boost::system::error_code roll_back(const fs::path& root, boost::system::error_code ec,
                                    OperationContext& ctx) {
  if (auto rec = recover_root(root); !rec) {
    ctx.detail += "; the root could not be repaired now and is repaired at the next start";
  }
  return ec;
}

}  // namespace

result<InstallReport> install_game(const fs::path& root, const InstallOptions& options,
                                   OperationContext& ctx) {
  const Paths p(root);
  if (!options.unpacker) return refuse(ctx, errc::io_error, "no unpacker configured");
  LANSPREAD_TRYV(check_clean(p, ctx));
  if (node_kind(root / std::string(proto::layout::kVersionIni)) != NodeKind::regular) {
    return refuse(ctx, errc::not_downloaded,
                  "'" + root.string() + "' has no version.ini; download the game first");
  }
  const NodeKind local = node_kind(p.local);
  if (local != NodeKind::absent && local != NodeKind::directory) {
    return refuse(ctx, errc::foreign_directory,
                  "'" + p.local.string() + "' is not a directory; move it away");
  }
  const bool update = local == NodeKind::directory;
  LANSPREAD_TRY(const auto plan, plan_payload(root, ctx.detail));
  if (plan.archives.empty() && plan.loose_files.empty()) {
    return refuse(ctx, errc::nothing_to_install, "'" + root.string() + "' holds no payload");
  }
  if (ctx.stop.stop_requested()) return refuse(ctx, errc::cancelled, "cancelled");
  ctx.step("intent_staging");
  const Operation op = update ? Operation::update : Operation::install;
  LANSPREAD_TRYV(write_intent(root, {op, Phase::staging, options.version}, ctx.detail));
  auto report = build_staging(p, plan, options, update, ctx);
  if (!report) return roll_back(root, report.error(), ctx);
  if (auto s = swap_in(p, options, update, ctx); !s) {
    // Past the swapping intent recovery completes the operation; if it can, the install
    // succeeded after all (e.g. only deleting the backup failed the first time).
    auto rec = recover_root(root);
    if (rec && rec->outcome == RecoveryReport::Outcome::rolled_forward) {
      ctx.detail.clear();
      ctx.step("done");
      return report;
    }
    if (!rec) ctx.detail += "; the root is repaired at the next start";
    return s.error();
  }
  ctx.step("done");
  return report;
}

result<void> uninstall_game(const fs::path& root, OperationContext& ctx) {
  const Paths p(root);
  LANSPREAD_TRYV(check_clean(p, ctx));
  if (node_kind(p.local) != NodeKind::directory) {
    return refuse(ctx, errc::not_installed, "'" + root.string() + "' is not installed");
  }
  if (ctx.stop.stop_requested()) return refuse(ctx, errc::cancelled, "cancelled");
  ctx.step("intent_removing");
  LANSPREAD_TRYV(write_intent(root, {Operation::uninstall, Phase::removing, {}}, ctx.detail));
  auto run = [&]() -> result<void> {
    // Renamed away first, so a crash mid-delete never leaves a half-deleted local/.
    ctx.step("move_local_to_backup");
    LANSPREAD_TRYV(rename_durable(p.local, p.backup, ctx.detail));
    ctx.step("mark_backup");
    LANSPREAD_TRYV(write_owned_marker(p.backup, ctx.detail));
    ctx.step("remove_backup");
    ctx.report("removing", 0, 1);
    std::uint64_t removed = 0;
    auto emptied = remove_contents_reporting(p.backup, ctx, removed, ctx.detail);
    if (!emptied && emptied.error() == errc::cancelled) {
      // What was deleted stays deleted; the rest is the player's again, as local/.
      ctx.step("restore_rest");
      LANSPREAD_TRYV(rename_durable(p.backup, p.local, ctx.detail));
      LANSPREAD_TRYV(
          remove_file_durable(p.local / std::string(proto::layout::kOwnedMarker), ctx.detail));
      LANSPREAD_TRYV(clear_intent(root, ctx.detail));
      return refuse(ctx, errc::cancelled,
                    "cancelled after deleting " + std::to_string(removed) +
                        " entries; what is left stays in local/");
    }
    if (!emptied) return emptied;
    LANSPREAD_TRYV(remove_tree(p.backup, ctx.detail));
    ctx.step("clear_intent");
    return clear_intent(root, ctx.detail);
  };
  if (auto r = run(); !r) {
    if (r.error() == errc::cancelled) return r;  // already consistent, nothing to roll back
    return roll_back(root, r.error(), ctx);
  }
  ctx.step("done");
  return {};
}

}  // namespace lanspread::install
