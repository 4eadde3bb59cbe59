// games, peers, status, set-games-dir, open, version, help: ask, print, exit.
#include "app/cli_commands.hpp"

#include "app/cli_context.hpp"
#include "app/cli_format.hpp"
#include "sys/durable_file.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdlib>
#include <thread>

extern char** environ;

namespace lanspread::app {
namespace json = boost::json;
using namespace cli;

namespace {

const json::array& array_field(const json::value& v, std::string_view key) {
  static const json::array empty;
  const json::value* f = v.is_object() ? v.get_object().if_contains(key) : nullptr;
  return f && f->is_array() ? f->get_array() : empty;
}

std::string short_id(const std::string& id) {
  return printable(id.substr(0, 8));
}

// The activity of a game's active_operation: "downloading 42%", or "".
std::string activity_cell(const json::value& game) {
  const json::value* op =
      game.is_object() ? game.get_object().if_contains("active_operation") : nullptr;
  if (op == nullptr || !op->is_object()) return "";
  const OperationView view = operation_from_json(*op);
  const auto pct = percent_of(view);
  return activity_of(view) + (pct ? fmt::format(" {}%", *pct) : "");
}

// What the game takes here, or what a download of its latest version would fetch.
std::string size_cell(const json::value& game, bool have) {
  if (have) return format_size(uint_field(game, "local_size").value_or(0));
  const auto latest = uint_field(game, "latest_size");
  return latest && *latest > 0 ? format_size(*latest) : "-";
}

// GET `target` for a verb whose --json output is the API's document: prints it and returns
// nullopt under --json (or on failure, with `rc` set); else the body to show to a person.
std::optional<json::value> fetch_for_humans(CliContext& ctx, std::string_view target, int& rc) {
  auto body = ctx.get_json(target, rc);
  if (body && ctx.json()) {
    CliContext::print_json(*body);
    return std::nullopt;
  }
  return body;
}

int run_games(CliContext& ctx) {
  int rc = kExitOk;
  auto body = fetch_for_humans(ctx, "/api/v1/games", rc);
  if (!body) return rc;
  const auto& games = array_field(*body, "games");
  std::vector<std::vector<std::string>> rows;
  bool any_activity = false;
  std::size_t installed = 0, downloaded = 0, offered = 0;
  for (const auto& g : games) {
    const bool have = bool_field(g, "downloaded") || bool_field(g, "installed");
    installed += bool_field(g, "installed") ? 1 : 0;
    downloaded += bool_field(g, "downloaded") ? 1 : 0;
    offered += !array_field(g, "latest_peers").empty() ? 1 : 0;
    const std::string local = string_field(g, "local_version");
    const std::string latest = string_field(g, "latest_version");
    const std::string activity = activity_cell(g);
    any_activity = any_activity || !activity.empty();
    rows.push_back({printable(string_field(g, "id")), printable(string_field(g, "name")),
                    game_state(g), local.empty() ? "-" : printable(local),
                    latest.empty() ? "-" : printable(latest), size_cell(g, have),
                    std::to_string(array_field(g, "latest_peers").size()), activity});
  }
  std::vector<std::string> header{"ID", "NAME", "STATE", "VERSION", "LATEST", "SIZE", "PEERS"};
  if (any_activity) header.push_back("NOW");
  std::fputs(render_table(header, rows, {5, 6}).c_str(), stdout);
  fmt::print("{} game{}: {} installed, {} downloaded, {} offered by peers\n", games.size(),
             games.size() == 1 ? "" : "s", installed, downloaded, offered);
  return kExitOk;
}

int run_peers(CliContext& ctx) {
  int rc = kExitOk;
  auto body = fetch_for_humans(ctx, "/api/v1/peers", rc);
  if (!body) return rc;
  const auto& peers = array_field(*body, "peers");
  if (peers.empty()) {
    fmt::print(
        "No peers found yet. Peers on the LAN appear within seconds when they run `lanspread "
        "serve`;\nmDNS (UDP 5353) and the QUIC port (UDP 7979) must not be blocked.\n");
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : peers) {
    std::string addresses;
    for (const auto& a : array_field(p, "addresses")) {
      if (!a.is_string()) continue;
      addresses += (addresses.empty() ? "" : ", ") + printable(a.get_string());
    }
    const auto seen_ms = uint_field(p, "last_seen_ms_ago").value_or(0);
    rows.push_back({printable(string_field(p, "name")), short_id(string_field(p, "id")),
                    addresses.empty() ? "-" : addresses,
                    std::to_string(uint_field(p, "game_count").value_or(0)),
                    fmt::format("{} s ago", seen_ms / 1000)});
  }
  std::fputs(render_table({"NAME", "ID", "ADDRESSES", "GAMES", "SEEN"}, rows, {3, 4}).c_str(),
             stdout);
  fmt::print("{} peer{}\n", peers.size(), peers.size() == 1 ? "" : "s");
  return kExitOk;
}

int run_status(CliContext& ctx) {
  int rc = kExitOk;
  auto status = fetch_for_humans(ctx, "/api/v1/status", rc);
  if (!status) return rc;
  auto games = ctx.get_json("/api/v1/games", rc);
  if (!games) return rc;
  std::size_t installed = 0, downloaded = 0;
  std::vector<std::string> running;
  for (const auto& g : array_field(*games, "games")) {
    installed += bool_field(g, "installed") ? 1 : 0;
    downloaded += bool_field(g, "downloaded") ? 1 : 0;
    if (auto a = activity_cell(g); !a.empty())
      running.push_back(printable(string_field(g, "id")) + " " + a);
  }
  fmt::print("lanspread {} running at {}\n", printable(string_field(*status, "version")),
             ctx.address());
  fmt::print("  name        {}\n", printable(string_field(*status, "name")));
  fmt::print("  peer id     {}\n", printable(string_field(*status, "peer_id")));
  fmt::print("  games dir   {}\n", printable(string_field(*status, "games_dir")));
  fmt::print("  QUIC port   UDP {}\n", uint_field(*status, "quic_port").value_or(0));
  fmt::print("  peers       {}\n", uint_field(*status, "peer_count").value_or(0));
  fmt::print("  games       {} installed, {} downloaded\n", installed, downloaded);
  fmt::print("  running     {}\n",
             running.empty() ? "nothing" : fmt::format("{}", fmt::join(running, ", ")));
  return kExitOk;
}

int run_set_games_dir(CliContext& ctx, const std::string& dir) {
  std::error_code fec;
  // The daemon has its own working directory: send an absolute path.
  const std::string path = std::filesystem::absolute(dir, fec).lexically_normal().string();
  int rc = kExitOk;
  auto status = ctx.get_json("/api/v1/status", rc);
  if (!status) return rc;
  const std::uint64_t since = uint_field(*status, "event_seq").value_or(0) + 1;
  auto opened = ctx.client().open_events(since);
  if (!opened) return ctx.fail(opened.error());
  if (opened->status != 101) return ctx.fail(*opened);
  const json::value body = json::object{{"path", path}};
  auto reply =
      ctx.client().request(boost::beast::http::verb::put, "/api/v1/settings/games-dir", &body);
  auto switched = [&] {
    if (ctx.json()) {
      CliContext::print_json(json::object{{"path", path}});
    } else {
      fmt::print("games dir is now {}\n", printable(path));
    }
    return kExitOk;
  };
  // The daemon answers once it has switched (200) or refused (its reason).
  if (reply && reply->status == 200) return switched();
  if (reply) return ctx.fail(*reply);
  if (reply.error() != ClientErrc::timed_out) return ctx.fail(reply.error());
  // Still repairing a large games dir: its event says how the change ended.
  const auto deadline = std::chrono::steady_clock::now() + ctx.waits().games_dir_wait;
  while (std::chrono::steady_clock::now() < deadline) {
    auto event = ctx.client().next_event(ctx.waits().tick);
    if (!event) return ctx.fail(event.error());
    if (!*event) continue;
    const std::string type = string_field(**event, "type");
    const json::value* data = (*event)->as_object().if_contains("data");
    if (data == nullptr || string_field(*data, "path") != path) continue;
    if (type == "games_dir_changed") return switched();
    if (type == "games_dir_rejected") {
      return ctx.fail(kExitRefused, "games_dir_rejected",
                      printable(path) + ": " + printable(string_field(*data, "reason")));
    }
  }
  return ctx.fail(kExitError, "timed_out",
                  fmt::format("the daemon did not confirm the switch to the games dir "
                              "within {} s; see `lanspread status`",
                              ctx.waits().games_dir_wait.count()));
}

bool graphical_session() {
  const char* display = std::getenv("DISPLAY");
  const char* wayland = std::getenv("WAYLAND_DISPLAY");
  return (display != nullptr && *display != '\0') || (wayland != nullptr && *wayland != '\0');
}

// A page that forwards the browser to `url` (an http:// URL checked to be printable ASCII).
std::string login_page(const std::string& url) {
  std::string attr;  // HTML attribute text
  std::string js;    // JavaScript string literal text
  for (char c : url) {
    switch (c) {
      case '&':
        attr += "&amp;";
        break;
      case '"':
        attr += "&quot;";
        break;
      case '<':
        attr += "&lt;";
        break;
      case '>':
        attr += "&gt;";
        break;
      default:
        attr += c;
    }
    if (c == '\\' || c == '"' || c == '<' || c == '>' || c == '&') {
      js += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    } else {
      js += c;
    }
  }
  return fmt::format(
      "<!doctype html>\n<html><head><meta charset=\"utf-8\">"
      "<meta name=\"referrer\" content=\"no-referrer\">"
      "<meta http-equiv=\"refresh\" content=\"0; url={0}\">"
      "<title>lanspread</title>"
      "<script>location.replace(\"{1}\");</script></head>"
      "<body><a href=\"{0}\">Open lanspread</a></body></html>\n",
      attr, js);
}

// Writes the forwarding page for `url`, readable by its owner only, into $XDG_RUNTIME_DIR
// (else the state dir); each `open` replaces the previous one. The browser is handed this
// file, never the URL: a program's arguments are visible to every local user
// (/proc/<pid>/cmdline), and the URL carries a login token.
std::optional<std::filesystem::path> write_login_page(const std::filesystem::path& state_dir,
                                                      const std::string& url) {
  std::filesystem::path dir = state_dir;
  std::error_code ec;
  if (const char* run = std::getenv("XDG_RUNTIME_DIR");
      run != nullptr && *run == '/' && std::filesystem::is_directory(run, ec))
    dir = run;
  constexpr std::string_view kName = "lanspread-login.html";
  if (!sys::write_file_atomic(dir, kName, login_page(url), {.mode = 0600, .durable = false}))
    return std::nullopt;
  return dir / kName;
}

// Hands `target` (a file) to xdg-open; true when it took it.
bool open_in_browser(const std::string& target, std::chrono::seconds wait) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string program = "xdg-open";
  char* argv[] = {program.data(), const_cast<char*>(target.c_str()), nullptr};
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, "xdg-open", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return false;
  // xdg-open returns once the browser has the URL; a slow one is left to finish alone.
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    int st = 0;
    const pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) && WEXITSTATUS(st) == 0;
    if (r < 0) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

int run_open(CliContext& ctx, bool print_only) {
  auto reply = ctx.client().request(boost::beast::http::verb::post, "/api/v1/login-url");
  if (!reply) return ctx.fail(reply.error());
  if (reply->status / 100 != 2) return ctx.fail(*reply);
  const std::string url = string_field(reply->body, "url");
  if (!url.starts_with("http://") || printable(url) != url) {
    return ctx.fail(kExitError, "bad_answer", "the daemon's login URL is not an http:// URL");
  }
  bool opened = false;
  if (!print_only && graphical_session()) {
    if (auto page = write_login_page(ctx.state_dir(), url)) {
      opened = open_in_browser(page->string(), ctx.waits().opener_wait);
      std::error_code ec;
      if (!opened) std::filesystem::remove(*page, ec);  // nobody will read it
    }
  }
  if (ctx.json()) {
    CliContext::print_json(json::object{{"url", url}, {"opened", opened}});
  } else {
    fmt::print("{}\n", url);
    fmt::print(stderr, "{} (the link logs one browser in once and expires soon)\n",
               opened ? "Opened in your browser" : "Open this link in a browser on this machine");
  }
  return kExitOk;
}

int run_help(CLI::App& app, const std::string& verb, bool as_json) {
  if (as_json) {
    json::array verbs;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; }))
      verbs.push_back(
          json::object{{"name", sub->get_name()}, {"description", sub->get_description()}});
    CliContext::print_json(json::object{{"verbs", std::move(verbs)}});
    return kExitOk;
  }
  // App::help() would describe the selected verb (`help` itself): ask the formatter.
  if (verb.empty()) {
    std::fputs(
        app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal).c_str(),
        stdout);
    return kExitOk;
  }
  try {
    std::fputs(app.get_subcommand(verb)->help(app.get_name()).c_str(), stdout);
  } catch (const CLI::OptionNotFound&) {
    fmt::print(stderr, "lanspread: no verb '{}'; `lanspread help` lists them\n", printable(verb));
    return kExitUsage;
  }
  return kExitOk;
}

// Registers a verb that talks to the daemon: common options, connect, run.
template <class Run>
CLI::App* daemon_verb(CLI::App& app, int& exit_code, const char* name, const char* about,
                      std::shared_ptr<CommonOptions> options, Run run) {
  CLI::App* cmd = app.add_subcommand(name, about);
  add_common_options(*cmd, *options);
  cmd->callback([options, run, &exit_code] {
    CliContext ctx(*options);
    if (auto failed = ctx.connect()) {
      exit_code = *failed;
      return;
    }
    exit_code = run(ctx);
  });
  return cmd;
}

}  // namespace

void add_query_commands(CLI::App& app, int& exit_code) {
  daemon_verb(app, exit_code, "games", "List the catalog's games: here, on peers, running",
              std::make_shared<CommonOptions>(), run_games);
  daemon_verb(app, exit_code, "peers", "List the peers the daemon found on the LAN",
              std::make_shared<CommonOptions>(), run_peers);
  daemon_verb(app, exit_code, "status", "Show the daemon's identity, games dir and activity",
              std::make_shared<CommonOptions>(), run_status);

  auto dir = std::make_shared<std::string>();
  daemon_verb(app, exit_code, "set-games-dir", "Move the daemon to another games directory",
              std::make_shared<CommonOptions>(),
              [dir](CliContext& ctx) { return run_set_games_dir(ctx, *dir); })
      ->add_option("DIR", *dir, "An existing directory the daemon can read and write")
      ->required();

  auto print_only = std::make_shared<bool>(false);
  daemon_verb(app, exit_code, "open", "Log a browser into the web UI with a one-time link",
              std::make_shared<CommonOptions>(),
              [print_only](CliContext& ctx) { return run_open(ctx, *print_only); })
      ->add_flag("--print-only", *print_only, "Only print the link, do not start a browser");

  auto version_json = std::make_shared<bool>(false);
  CLI::App* version = app.add_subcommand("version", "Print this program's version");
  version->add_flag("--json", *version_json, "As {\"version\": ...}");
  version->callback([version_json, &exit_code] {
    if (*version_json) {
      CliContext::print_json(json::object{{"version", LANSPREAD_VERSION}});
    } else {
      fmt::print("lanspread {}\n", LANSPREAD_VERSION);
    }
    exit_code = kExitOk;
  });

  auto verb = std::make_shared<std::string>();
  auto help_json = std::make_shared<bool>(false);
  CLI::App* help = app.add_subcommand("help", "Show the verbs, or one verb's options");
  help->add_option("VERB", *verb, "The verb to explain");
  help->add_flag("--json", *help_json, "As {\"verbs\": [{\"name\", \"description\"}]}");
  help->callback(
      [&app, verb, help_json, &exit_code] { exit_code = run_help(app, *verb, *help_json); });
}

int run_command_line(CLI::App& app, int argc, char** argv, const int& exit_code) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" that exit 0; everything else is a usage error.
    const int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  return exit_code;
}

}  // namespace lanspread::app
