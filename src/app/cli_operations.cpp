// get, update, install, uninstall, remove, cancel: ask the daemon to act on a game, then
// follow the operation through the event stream to its end, showing its progress. Ctrl-C
// cancels the operation (the daemon rolls it back) and exits with 130.
#include "app/cli_commands.hpp"
#include "app/cli_context.hpp"
#include "app/cli_follow.hpp"
#include "app/cli_format.hpp"
#include "app/cli_terminal.hpp"
#include "proto/validate.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <chrono>

namespace lanspread::app {
namespace json = boost::json;
namespace http = boost::beast::http;
using namespace cli;
using Clock = std::chrono::steady_clock;

namespace {

struct ActionArgs {
  std::string id;
  bool all = false;    // update --all
  bool quiet = false;  // no progress output
};

// Shows an operation's progress: one line redrawn on a terminal; elsewhere a line at each
// change of phase and every 10 %; nothing with --quiet or --json.
class ProgressView {
 public:
  ProgressView(bool quiet, bool json) : line_(stdout), silent_(quiet || json) {}

  void show(const OperationView& op) {
    if (silent_) return;
    shown_ = op;
    if (!line_.redraws() && !worth_a_line(op)) return;
    last_ = op;
    line_.draw(progress_line(op, line_.width()));
  }
  // A line that stays (a stage finished, the end); nothing with --quiet or --json.
  void say(const std::string& text) {
    if (silent_) return;
    line_.print(text);
  }
  // The operation shown last reached its end: draw it complete before the line closes.
  void complete() {
    if (!shown_ || shown_->total == 0 || shown_->done >= shown_->total) return;
    OperationView op = *shown_;
    op.done = op.total;
    op.eta_seconds.reset();
    op.stalled_seconds.reset();
    show(op);
  }
  void close() { line_.close(); }

 private:
  bool worth_a_line(const OperationView& op) const {
    if (!last_ || last_->kind != op.kind || last_->phase != op.phase) return true;
    const auto before = percent_of(*last_), now = percent_of(op);
    return now && (!before || *now / 10 > *before / 10);
  }

  LiveLine line_;
  bool silent_;
  std::optional<OperationView> last_;   // printed last (plain output)
  std::optional<OperationView> shown_;  // reported last
};

json::value result_line(const std::string& id, std::string_view outcome, const std::string& reason,
                        int exit_code) {
  return json::object{
      {"type", "result"},
      {"data",
       json::object{
           {"id", id}, {"outcome", outcome}, {"reason", reason}, {"exit_code", exit_code}}}};
}

std::string_view outcome_name(FollowEnd::Outcome o) {
  switch (o) {
    case FollowEnd::Outcome::done:
      return "done";
    case FollowEnd::Outcome::failed:
      return "failed";
    case FollowEnd::Outcome::cancelled:
      return "cancelled";
    case FollowEnd::Outcome::refused:
      return "refused";
    case FollowEnd::Outcome::lost:
      return "lost";
  }
  return "failed";
}

std::string past_tense(FollowGoal goal, const std::string& kind) {
  if (goal == FollowGoal::get || kind == "install") return "installed";
  if (kind == "update") return "updated";
  if (kind == "uninstall") return "uninstalled";
  if (kind == "remove") return "removed";
  if (kind == "download") return "downloaded";
  if (kind == "verify") return "verified";
  return "done";
}

// Runs `action` on game `id` and follows it to the end of `goal`.
class ActionRun {
 public:
  ActionRun(CliContext& ctx, std::string id, FollowGoal goal, bool quiet)
      : ctx_(ctx),
        id_(std::move(id)),
        goal_(goal),
        follower_(id_, goal),
        view_(quiet, ctx.json()) {}

  // Refused here, before asking the daemon: reported like the daemon's refusals.
  int refuse(std::string reason) {
    return finish(FollowEnd{FollowEnd::Outcome::refused, {}, reason});
  }

  int run(const std::string& action) {
    int rc = kExitOk;
    auto status = ctx_.get_json("/api/v1/status", rc);
    if (!status) return rc;
    games_dir_ = string_field(*status, "games_dir");
    // Subscribe before asking, from the next event on: nothing about this operation is missed.
    auto opened = ctx_.client().open_events(uint_field(*status, "event_seq").value_or(0) + 1);
    if (!opened) return ctx_.fail(opened.error());
    if (opened->status != 101) return ctx_.fail(*opened);
    if (goal_ != FollowGoal::cancel) ctx_.client().catch_interrupts(kExitInterrupted);

    auto reply = ctx_.client().request(http::verb::post, "/api/v1/games/" + id_ + "/" + action);
    if (!reply) return ctx_.fail(reply.error());
    if (reply->status == 409 || reply->status == 404) {
      // A refusal is an outcome like the others: --json ends with its result line.
      return finish(FollowEnd{FollowEnd::Outcome::refused, action, reply->error_message()});
    }
    if (reply->status != 202) return ctx_.fail(*reply);
    return follow();
  }

 private:
  int follow() {
    std::optional<Clock::time_point> deadline = Clock::now() + ctx_.waits().begin_wait;
    for (;;) {
      if (deadline && Clock::now() > *deadline) return gave_up();
      auto event = ctx_.client().next_event(ctx_.waits().tick);
      if (!event && event.error() == ClientErrc::interrupted) {
        if (cancel_requested_) continue;  // a second signal ends the process (client)
        deadline = request_cancel();
        continue;
      }
      if (!event) {
        view_.close();
        return ctx_.fail(event.error());
      }
      if (!*event) continue;
      FollowStep step = follower_.on_event(**event);
      if (step.relevant && ctx_.json()) CliContext::print_json(**event);
      if (step.resync) {
        int rc = kExitOk;
        auto game = ctx_.get_json("/api/v1/games/" + id_, rc);
        if (!game) return rc;
        if (auto end = follower_.resolve(*game)) return finish(*end);
        continue;
      }
      if (follower_.running() && !cancel_requested_) deadline.reset();
      if (cancel_requested_ && !cancel_sent_) send_cancel();
      // After a cancel request the line keeps its last state until the end is known.
      if (step.progress && !cancel_requested_) view_.show(*step.progress);
      if (step.stage_finished || (step.end && step.end->outcome == FollowEnd::Outcome::done))
        view_.complete();
      if (step.stage_finished) {
        const auto fetched = uint_field(*step.stage_finished, "bytes_fetched").value_or(0);
        const auto reused = uint_field(*step.stage_finished, "bytes_reused").value_or(0);
        view_.say(fmt::format("{}: downloaded {} ({} from peers, {} already on disk)",
                              printable(id_), format_size(fetched + reused), format_size(fetched),
                              format_size(reused)));
        // For the install's begin; after a Ctrl-C the install is cancelled when it begins.
        if (!cancel_requested_) deadline = Clock::now() + ctx_.waits().begin_wait;
        cancel_sent_ = false;
      }
      if (step.end) return finish(*step.end);
    }
  }

  // Ctrl-C: ask the daemon to cancel, then keep following until the operation ends.
  Clock::time_point request_cancel() {
    cancel_requested_ = true;
    view_.say(fmt::format("{}: cancelling...", printable(id_)));
    send_cancel();
    return Clock::now() + ctx_.waits().cancel_wait;
  }

  // Cancels the followed operation once it runs: a cancel sent before its begin (Ctrl-C
  // right after the request, or between a download and its install) would find nothing.
  void send_cancel() {
    cancel_sent_ = follower_.running();
    if (!cancel_sent_) return;
    auto reply = ctx_.client().request(http::verb::post, "/api/v1/games/" + id_ + "/cancel");
    if (reply && reply->status != 202 && reply->status != 409)
      view_.say("the daemon did not take the cancel: " + printable(reply->error_message()));
  }

  int gave_up() {
    view_.close();
    if (cancel_requested_) {
      return ctx_.fail(kExitInterrupted, "cancel_unconfirmed",
                       fmt::format("{}: the daemon did not confirm the cancel within {} s; see "
                                   "`lanspread status`",
                                   printable(id_), ctx_.waits().cancel_wait.count()));
    }
    return ctx_.fail(kExitError, "not_started",
                     fmt::format("{}: the daemon accepted the request but did not start it within "
                                 "{} s; see its log",
                                 printable(id_), ctx_.waits().begin_wait.count()));
  }

  int finish(const FollowEnd& end) {
    view_.close();
    int code = kExitOk;
    std::string text;
    const std::string who = printable(id_);
    switch (end.outcome) {
      case FollowEnd::Outcome::done:
        text = who + ": " + past_tense(goal_, end.kind);
        if (goal_ == FollowGoal::get || goal_ == FollowGoal::install) text += installed_where();
        if (goal_ == FollowGoal::cancel) {
          code = kExitRefused;
          text = who + ": the " + end.kind + " finished before the cancel reached it";
        }
        break;
      case FollowEnd::Outcome::cancelled:
        code = goal_ == FollowGoal::cancel ? kExitOk
               : cancel_requested_         ? kExitInterrupted
                                           : kExitFailed;
        text = who + ": " + (end.kind.empty() ? "operation" : end.kind) + " cancelled" +
               (code == kExitFailed ? " (by another client)" : "") +
               (end.kind == "download" ? "; what it had fetched was deleted" : "");
        break;
      case FollowEnd::Outcome::refused:
        code = kExitRefused;
        text = who + ": refused: " + printable(end.reason);
        break;
      case FollowEnd::Outcome::failed:
      case FollowEnd::Outcome::lost:
        code = kExitFailed;
        text = who + ": " + (end.kind.empty() ? "operation" : end.kind) +
               " failed: " + printable(end.reason);
        break;
    }
    if (ctx_.json())
      CliContext::print_json(result_line(id_, outcome_name(end.outcome), end.reason, code));
    if (code == kExitOk) {
      view_.say(text);
    } else {
      std::fflush(stdout);
      fmt::print(stderr, "lanspread: {}\n", text);
    }
    return code;
  }

  // " (version 20241002, in /games/openarena/local)", from the game's state after the end.
  std::string installed_where() {
    auto reply = ctx_.client().get("/api/v1/games/" + id_);
    if (!reply || reply->status != 200) return {};
    const std::string version = string_field(reply->body, "local_version");
    return fmt::format(" (version {}, in {}/{}/local)", printable(version), printable(games_dir_),
                       printable(id_));
  }

  CliContext& ctx_;
  std::string id_;
  FollowGoal goal_;
  OperationFollower follower_;
  ProgressView view_;
  std::string games_dir_;
  bool cancel_requested_ = false;
  bool cancel_sent_ = false;
};

// The game as GET /games/{id} reports it, or nullopt with `rc` set (reported).
std::optional<json::value> fetch_game(CliContext& ctx, const std::string& id, int& rc) {
  return ctx.get_json("/api/v1/games/" + id, rc);
}

int run_get(CliContext& ctx, const ActionArgs& args) {
  int rc = kExitOk;
  auto game = fetch_game(ctx, args.id, rc);
  if (!game) return rc;
  const bool installed = bool_field(*game, "installed");
  const bool downloaded = bool_field(*game, "downloaded");
  const bool update = bool_field(*game, "update_available");
  const json::value* active = game->as_object().if_contains("active_operation");
  if (installed && !update && (active == nullptr || active->is_null())) {
    const std::string text =
        fmt::format("{} is already installed and up to date (version {})", printable(args.id),
                    printable(string_field(*game, "local_version")));
    if (ctx.json()) {
      CliContext::print_json(result_line(args.id, "done", text, kExitOk));
    } else if (!args.quiet) {
      fmt::print("{}\n", text);
    }
    return kExitOk;
  }
  // Downloaded and current but not installed: only the install is missing.
  if (downloaded && !installed && !update) {
    return ActionRun(ctx, args.id, FollowGoal::install, args.quiet).run("install");
  }
  return ActionRun(ctx, args.id, FollowGoal::get, args.quiet).run("download");
}

int run_update(CliContext& ctx, const ActionArgs& args) {
  if (!args.all) {
    int rc = kExitOk;
    auto game = fetch_game(ctx, args.id, rc);
    if (!game) return rc;
    ActionRun run(ctx, args.id, FollowGoal::get, args.quiet);
    // The daemon would say "already at the latest version": true, but not the point.
    if (!bool_field(*game, "downloaded") && !bool_field(*game, "installed")) {
      return run.refuse("'" + args.id + "' is not downloaded; `lanspread get " + args.id +
                        "` downloads and installs it");
    }
    return run.run("update");
  }
  int rc = kExitOk;
  auto body = ctx.get_json("/api/v1/games", rc);
  if (!body) return rc;
  std::vector<std::string> ids;
  const json::value* games = body->as_object().if_contains("games");
  if (games != nullptr && games->is_array()) {
    for (const auto& g : games->get_array()) {
      if (bool_field(g, "update_available") &&
          (bool_field(g, "downloaded") || bool_field(g, "installed")))
        ids.push_back(string_field(g, "id"));
    }
  }
  if (ids.empty()) {
    if (ctx.json()) {
      CliContext::print_json(result_line("", "done", "every game is up to date", kExitOk));
    } else if (!args.quiet) {
      fmt::print("Every game is up to date.\n");
    }
    return kExitOk;
  }
  // One after the other: each gets the whole LAN's bandwidth and its own progress line.
  int worst = kExitOk;
  for (const auto& id : ids) {
    const int code = ActionRun(ctx, id, FollowGoal::get, args.quiet).run("update");
    if (code == kExitInterrupted || code == kExitNotRunning) return code;
    if (worst == kExitOk) worst = code;
  }
  return worst;
}

template <class Run>
CLI::App* action_verb(CLI::App& app, int& exit_code, const char* name, const char* about,
                      std::shared_ptr<ActionArgs> args, Run run) {
  auto options = std::make_shared<CommonOptions>();
  CLI::App* cmd = app.add_subcommand(name, about);
  add_common_options(*cmd, *options);
  cmd->add_option("ID", args->id, "The game's catalog id (see `lanspread games`)");
  cmd->add_flag("--quiet,-q", args->quiet, "Print no progress, only the outcome's errors");
  cmd->callback([options, args, run, name, &exit_code] {
    // An id, or update's --all: exactly one of them.
    if (args->id.empty() == !args->all) {
      std::fflush(stdout);
      fmt::print(stderr, "lanspread {}: {}\nRun with --help for more information.\n", name,
                 args->all ? "give a game id or --all, not both" : "a game id is required");
      exit_code = kExitUsage;
      return;
    }
    if (!args->all && !proto::validate_game_id(args->id)) {
      std::fflush(stdout);
      fmt::print(stderr,
                 "lanspread {}: '{}' is not a game id (1 to 64 of a-z, 0-9, '-', '_'); "
                 "`lanspread games` lists them\n",
                 name, printable(args->id));
      exit_code = kExitUsage;
      return;
    }
    CliContext ctx(*options);
    if (auto failed = ctx.connect()) {
      exit_code = *failed;
      return;
    }
    exit_code = run(ctx, *args);
  });
  return cmd;
}

}  // namespace

void add_operation_commands(CLI::App& app, int& exit_code) {
  auto simple = [&](const char* name, const char* about, FollowGoal goal, const char* action) {
    action_verb(app, exit_code, name, about, std::make_shared<ActionArgs>(),
                [goal, action](CliContext& ctx, const ActionArgs& args) {
                  return ActionRun(ctx, args.id, goal, args.quiet).run(action);
                })
        ->get_option("ID")
        ->required();
  };
  action_verb(app, exit_code, "get", "Download a game from the peers and install it",
              std::make_shared<ActionArgs>(), run_get)
      ->get_option("ID")
      ->required();
  auto update_args = std::make_shared<ActionArgs>();
  action_verb(app, exit_code, "update",
              "Fetch a game's newest version from the peers and install it", update_args,
              run_update)
      ->add_flag("--all", update_args->all, "Update every game that has a newer version");
  simple("install", "Install (extract) a downloaded game", FollowGoal::install, "install");
  simple("uninstall", "Delete a game's installed files; the download stays", FollowGoal::uninstall,
         "uninstall");
  simple("remove", "Delete a downloaded game that is not installed", FollowGoal::remove, "remove");
  simple("cancel", "Stop what runs on a game; it is rolled back", FollowGoal::cancel, "cancel");
  simple("verify", "Check a downloaded game's files against the peers' and repair what differs",
         FollowGoal::verify, "verify");
}

}  // namespace lanspread::app
