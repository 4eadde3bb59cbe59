// Follows one game's operation through the daemon's event stream (docs/api.md, "Event
// types") until the end a verb waits for. Sans-IO: the verb feeds it the events it reads and
// acts on the steps that come back (show progress, print, exit).
//
// The follower only believes end events of an operation it saw begin, so a stream that
// starts before the verb's request (it must, to miss nothing) cannot hand it the end of an
// older operation on the same game.
#pragma once

#include "app/cli_format.hpp"

#include <boost/json/value.hpp>

#include <optional>
#include <string>

namespace lanspread::app::cli {

enum class FollowGoal {
  get,        // a download, then the install or update the daemon starts when it is done
  install,    // an install (or an update, when the game is already installed)
  uninstall,  //
  remove,     //
  cancel,     // whatever runs on the game now, until it ends
  verify,     // a verify (check against the peers, repair what differs)
};

struct FollowEnd {
  enum class Outcome {
    done,       // the goal was reached
    failed,     // operation_failed: `reason` says why
    cancelled,  // operation_cancelled (by this verb's cancel, or by another front end)
    refused,    // operation_refused: the daemon would not start it, `reason` says why
    lost,       // events were missed and the game's state does not show the goal reached
  };
  Outcome outcome = Outcome::done;
  std::string kind;    // of the operation that ended ("download", "install", ...)
  std::string reason;  // failures and refusals
};

struct FollowStep {
  bool relevant = false;                  // about the followed operation (printed by --json)
  std::optional<OperationView> progress;  // a new state to show
  // A stage of a longer goal ended (the download of `get`): its operation_finished data.
  std::optional<boost::json::value> stage_finished;
  std::optional<FollowEnd> end;
  bool resync = false;  // events were missed: call resolve() with the game's current state
};

class OperationFollower {
 public:
  OperationFollower(std::string id, FollowGoal goal);

  FollowStep on_event(const boost::json::value& event);
  // After missed events: decides from the game (as in GET /games/{id}) whether the goal
  // was reached, failed, or is still running (nullopt; following continues).
  std::optional<FollowEnd> resolve(const boost::json::value& game);

  // True once the operation began (for `cancel` from the start).
  bool running() const { return stage_ == Stage::running; }
  const std::string& id() const { return id_; }

 private:
  enum class Stage { waiting_begin, running, waiting_install, over };
  bool starts_goal(const std::string& kind) const;

  std::string id_;
  FollowGoal goal_;
  Stage stage_;
  std::string kind_;  // of the running operation
};

}  // namespace lanspread::app::cli
