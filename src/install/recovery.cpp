#include "install/recovery.hpp"

#include "install/durable_fs.hpp"
#include "install/intent_log.hpp"
#include "proto/layout.hpp"
#include "proto/try.hpp"

#include <unistd.h>

#include <system_error>

namespace lanspread::install {
namespace {

namespace fs = std::filesystem;
using Outcome = RecoveryReport::Outcome;

class RootRecoverer {
 public:
  explicit RootRecoverer(const fs::path& root)
      : root_(root),
        local_(root / std::string(proto::layout::kLocal)),
        staging_(root / std::string(proto::layout::kStaging)),
        backup_(root / std::string(proto::layout::kBackup)) {}

  result<RecoveryReport> run();

 private:
  bool exists(const fs::path& p) const { return node_kind(p) != NodeKind::absent; }
  bool is_dir(const fs::path& p) const { return node_kind(p) == NodeKind::directory; }
  void note(std::string s) { report_.notes.push_back(std::move(s)); }
  void outcome(Outcome o) {
    // The strongest change wins: a rollback or roll-forward matters more than tidying.
    if (o == Outcome::tidied && report_.outcome != Outcome::clean) return;
    report_.outcome = o;
  }
  result<void> remove(const fs::path& p) {
    if (!exists(p)) return {};
    outcome(Outcome::tidied);
    return remove_tree(p, detail_);
  }
  result<void> restore_backup();
  result<void> by_markers();
  result<void> by_intent(const Intent& intent);
  result<void> finish();

  fs::path root_, local_, staging_, backup_;
  RecoveryReport report_;
  std::string detail_;
};

result<void> RootRecoverer::restore_backup() {
  LANSPREAD_TRYV(rename_durable(backup_, local_, detail_));
  outcome(Outcome::rolled_back);
  return {};
}

// No trustworthy intent: never lose data. A marked backup with no local/ is the only copy
// of the game and is restored; other marked directories are leftovers; unmarked ones are
// not ours and stay.
result<void> RootRecoverer::by_markers() {
  // An empty directory holds nothing to lose (a delete killed between the marker and rmdir).
  for (const auto* dir : {&backup_, &staging_}) {
    if (is_dir(*dir) && !has_owned_marker(*dir) && ::rmdir(dir->c_str()) == 0) {
      outcome(Outcome::tidied);
    }
  }
  if (exists(backup_)) {
    if (!has_owned_marker(backup_)) {
      note("left foreign directory '" + backup_.string() + "' alone");
    } else if (!exists(local_)) {
      LANSPREAD_TRYV(restore_backup());
    } else {
      LANSPREAD_TRYV(remove(backup_));
    }
  }
  if (exists(staging_)) {
    if (has_owned_marker(staging_)) {
      LANSPREAD_TRYV(remove(staging_));
    } else {
      note("left foreign directory '" + staging_.string() + "' alone");
    }
  }
  return {};
}

result<void> RootRecoverer::by_intent(const Intent& intent) {
  // The operation refused to start while any reserved directory existed, so under a valid
  // intent they are ours even before their marker was written.
  switch (intent.op) {
    case Operation::install:
      if (intent.phase == Phase::staging) {
        LANSPREAD_TRYV(remove(staging_));
        outcome(Outcome::rolled_back);
        return {};
      }
      if (exists(staging_) && !exists(local_)) {
        LANSPREAD_TRYV(rename_durable(staging_, local_, detail_));
      }
      LANSPREAD_TRYV(remove(staging_));
      outcome(Outcome::rolled_forward);
      return {};
    case Operation::update:
      if (intent.phase == Phase::staging) {
        LANSPREAD_TRYV(remove(staging_));
        if (!exists(local_) && is_dir(backup_)) LANSPREAD_TRYV(restore_backup());
        LANSPREAD_TRYV(remove(backup_));
        outcome(Outcome::rolled_back);
        return {};
      }
      if (intent.phase == Phase::swapping && exists(local_) && exists(staging_) &&
          exists(backup_)) {
        // The old tree is in the backup and the new one staged, so local/ appeared from
        // elsewhere. Nothing is provably disposable: keep all three and the intent.
        note("'" + local_.string() + "' appeared during an update; move it away to finish");
        detail_ = report_.notes.back();
        return make_error_code(errc::foreign_directory);
      }
      if (intent.phase == Phase::swapping && is_dir(staging_)) {
        // The staged tree is complete (the intent says so): finish the swap.
        if (is_dir(local_) && !exists(backup_)) {
          LANSPREAD_TRYV(rename_durable(local_, backup_, detail_));
        }
        if (!exists(local_)) LANSPREAD_TRYV(rename_durable(staging_, local_, detail_));
      }
      if (!exists(local_) && is_dir(backup_)) {
        // Neither the staged nor the new tree survived: the old one is all there is.
        LANSPREAD_TRYV(restore_backup());
        LANSPREAD_TRYV(remove(staging_));
        return {};
      }
      LANSPREAD_TRYV(remove(staging_));
      LANSPREAD_TRYV(remove(backup_));
      outcome(Outcome::rolled_forward);
      return {};
    case Operation::uninstall:
      if (is_dir(local_)) {
        LANSPREAD_TRYV(remove(backup_));
        LANSPREAD_TRYV(rename_durable(local_, backup_, detail_));
      }
      LANSPREAD_TRYV(remove(backup_));
      LANSPREAD_TRYV(remove(staging_));
      outcome(Outcome::rolled_forward);
      return {};
  }
  return {};
}

result<void> RootRecoverer::finish() {
  // Markers travel with a renamed directory; inside local/ or the root they mean nothing.
  for (const auto& dir : {local_, root_}) {
    if (!is_dir(dir)) continue;
    for (const auto& name : {std::string(proto::layout::kOwnedMarker),
                             std::string(proto::layout::kOwnedMarker) + ".tmp"}) {
      if (node_kind(dir / name) == NodeKind::regular) {
        LANSPREAD_TRYV(remove_file_durable(dir / name, detail_));
      }
    }
  }
  return clear_intent(root_, detail_);
}

result<RecoveryReport> RootRecoverer::run() {
  if (!is_dir(root_)) {
    return make_error_code(errc::bad_root);
  }
  const IntentRead read = read_intent(root_);
  result<void> r;
  switch (read.state) {
    case IntentRead::State::valid:
      r = by_intent(read.intent);
      break;
    case IntentRead::State::unreadable: {
      note("intent log set aside as " + std::string(proto::layout::kIntentCorrupt) + ": " +
           read.problem);
      const auto intent = root_ / std::string(proto::layout::kIntent);
      if (node_kind(intent) == NodeKind::directory) {
        // Not something Lanspread wrote; a file we cannot rename over it either.
        return make_error_code(errc::foreign_directory);
      }
      LANSPREAD_TRYV(
          rename_durable(intent, root_ / std::string(proto::layout::kIntentCorrupt), detail_));
      r = by_markers();
      break;
    }
    case IntentRead::State::absent:
      r = by_markers();
      break;
  }
  if (!r) return r.error();
  LANSPREAD_TRYV(finish());
  return report_;
}

}  // namespace

std::string_view to_string(RecoveryReport::Outcome o) noexcept {
  switch (o) {
    case Outcome::clean:
      return "clean";
    case Outcome::rolled_back:
      return "rolled_back";
    case Outcome::rolled_forward:
      return "rolled_forward";
    case Outcome::tidied:
      return "tidied";
  }
  return "clean";
}

result<RecoveryReport> recover_root(const fs::path& root) {
  return RootRecoverer(root).run();
}

std::vector<RootRecovery> recover_games_dir(
    const fs::path& games_dir, const std::function<bool(std::string_view)>& is_catalog_id) {
  std::vector<RootRecovery> out;
  std::error_code ec;
  for (fs::directory_iterator it(games_dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto& p = it->path();
    const auto name = p.filename().string();
    if (node_kind(p) != NodeKind::directory) continue;
    if (name.starts_with(proto::layout::kRemovingPrefix)) {
      // An interrupted removal: the root was already renamed away from its id. Unmarked,
      // only an empty one (killed between the marker and rmdir) is deleted.
      if (!has_owned_marker(p)) {
        if (::rmdir(p.c_str()) == 0) {
          out.push_back(RootRecovery{name, RecoveryReport{RecoveryReport::Outcome::tidied, {}}});
        }
        continue;
      }
      std::string detail;
      RootRecovery rr{name, RecoveryReport{}};
      if (auto r = remove_tree(p, detail); !r) {
        rr.report = r.error();
      } else {
        rr.report->outcome = RecoveryReport::Outcome::rolled_forward;
      }
      out.push_back(std::move(rr));
      continue;
    }
    if (is_catalog_id && !is_catalog_id(name)) continue;
    const bool has_state =
        node_kind(p / std::string(proto::layout::kIntent)) != NodeKind::absent ||
        node_kind(p / std::string(proto::layout::kIntentTmp)) != NodeKind::absent ||
        node_kind(p / std::string(proto::layout::kStaging)) != NodeKind::absent ||
        node_kind(p / std::string(proto::layout::kBackup)) != NodeKind::absent ||
        node_kind(p / std::string(proto::layout::kLocal) /
                  std::string(proto::layout::kOwnedMarker)) != NodeKind::absent ||
        node_kind(p / std::string(proto::layout::kOwnedMarker)) != NodeKind::absent;
    if (!has_state) continue;
    out.push_back(RootRecovery{name, recover_root(p)});
  }
  return out;
}

}  // namespace lanspread::install
