#include "app/cli_follow.hpp"

#include <boost/json.hpp>

namespace lanspread::app::cli {
namespace json = boost::json;

namespace {
bool is_install_kind(const std::string& kind) {
  return kind == "install" || kind == "update";
}
}  // namespace

OperationFollower::OperationFollower(std::string id, FollowGoal goal)
    : id_(std::move(id)),
      goal_(goal),
      stage_(goal == FollowGoal::cancel ? Stage::running : Stage::waiting_begin) {}

bool OperationFollower::starts_goal(const std::string& kind) const {
  switch (goal_) {
    case FollowGoal::get:
      return kind == "download";
    case FollowGoal::install:
      return is_install_kind(kind);
    case FollowGoal::uninstall:
      return kind == "uninstall";
    case FollowGoal::remove:
      return kind == "remove";
    case FollowGoal::cancel:
      return true;
    case FollowGoal::verify:
      return kind == "verify";
  }
  return false;
}

FollowStep OperationFollower::on_event(const json::value& event) {
  FollowStep step;
  const std::string type = string_field(event, "type");
  if (type == "missed") {
    step.resync = stage_ != Stage::over;
    return step;
  }
  const json::value* data_ptr =
      event.is_object() ? event.get_object().if_contains("data") : nullptr;
  if (data_ptr == nullptr || stage_ == Stage::over) return step;
  const json::value& data = *data_ptr;
  if (string_field(data, "id") != id_) return step;
  const std::string kind = string_field(data, "kind");
  // `cancel` follows whatever runs, whatever its kind; the others only their own.
  const bool ours = stage_ == Stage::running && (kind_.empty() || kind == kind_);
  auto end = [&](FollowEnd::Outcome outcome, std::string reason) {
    stage_ = Stage::over;
    step.relevant = true;
    step.end = FollowEnd{outcome, kind, std::move(reason)};
  };

  if (type == "operation_refused") {
    if (stage_ == Stage::waiting_begin || stage_ == Stage::waiting_install) {
      end(FollowEnd::Outcome::refused, string_field(data, "reason"));
    }
  } else if (type == "operation_begin") {
    const bool expected = (stage_ == Stage::waiting_begin && starts_goal(kind)) ||
                          (stage_ == Stage::waiting_install && is_install_kind(kind));
    if (expected) {
      stage_ = Stage::running;
      kind_ = kind;
      step.relevant = true;
      step.progress = starting_operation(id_, kind);
    }
  } else if (type == "operation_progress") {
    if (ours) {
      if (kind_.empty()) kind_ = kind;
      step.relevant = true;
      step.progress = operation_from_json(data, id_);
    }
  } else if (type == "operation_finished") {
    if (ours) {
      if (goal_ == FollowGoal::get && kind == "download") {
        // The daemon starts the install at once; its begin (or refusal) comes next.
        stage_ = Stage::waiting_install;
        kind_.clear();
        step.relevant = true;
        step.stage_finished = data;
      } else {
        end(FollowEnd::Outcome::done, {});
      }
    }
  } else if (type == "operation_failed") {
    if (ours) end(FollowEnd::Outcome::failed, string_field(data, "reason"));
  } else if (type == "operation_cancelled") {
    if (ours) end(FollowEnd::Outcome::cancelled, {});
  }
  return step;
}

std::optional<FollowEnd> OperationFollower::resolve(const json::value& game) {
  if (stage_ == Stage::over) return std::nullopt;
  const json::value* active =
      game.is_object() ? game.get_object().if_contains("active_operation") : nullptr;
  if (active != nullptr && active->is_object()) {
    const std::string kind = string_field(*active, "kind");
    const bool ours = (stage_ == Stage::running && (kind_.empty() || kind == kind_)) ||
                      (stage_ == Stage::waiting_begin && starts_goal(kind)) ||
                      (stage_ == Stage::waiting_install && is_install_kind(kind));
    if (ours || (goal_ == FollowGoal::get && is_install_kind(kind))) {
      stage_ = Stage::running;
      kind_ = kind;
      return std::nullopt;
    }
  }
  // Nothing of ours runs any more: the state on disk tells how it ended.
  const bool installed = bool_field(game, "installed");
  bool reached = false;
  switch (goal_) {
    case FollowGoal::get:
      reached = installed && !bool_field(game, "update_available");
      break;
    case FollowGoal::install:
      reached = installed;
      break;
    case FollowGoal::uninstall:
      reached = !installed;
      break;
    case FollowGoal::remove:
      reached = !bool_field(game, "downloaded");
      break;
    case FollowGoal::cancel:
      reached = true;
      break;
    case FollowGoal::verify:
      reached = bool_field(game, "downloaded");
      break;
  }
  stage_ = Stage::over;
  if (reached) return FollowEnd{FollowEnd::Outcome::done, kind_, {}};
  return FollowEnd{FollowEnd::Outcome::lost, kind_,
                   "events were missed and the game is now " + game_state(game)};
}

}  // namespace lanspread::app::cli
