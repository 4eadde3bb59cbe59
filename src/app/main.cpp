// lanspread: the one program. Each verb is a subcommand: `serve` is the daemon, the others
// talk to it (docs/cli.md) or work on their own (scan, discover).
#include "app/cli_commands.hpp"
#include "app/discover_command.hpp"
#include "app/scan_command.hpp"
#include "app/serve_command.hpp"

#include <CLI/CLI.hpp>
#include <utility>
#include <vector>

int main(int argc, char** argv) {
  CLI::App app{"lanspread: share a game library across a LAN", "lanspread"};
  app.require_subcommand(1);
  app.set_version_flag("--version", LANSPREAD_VERSION);
  app.footer(
      "Start the daemon with `lanspread serve`; the other verbs talk to it.\n"
      "`lanspread help VERB` explains a verb; docs/cli.md has the details and exit codes.");
  int exit_code = 0;
  lanspread::app::add_serve_command(app, exit_code);
  lanspread::app::add_query_commands(app, exit_code);
  lanspread::app::add_operation_commands(app, exit_code);
  lanspread::app::add_watch_command(app, exit_code);
  lanspread::app::add_scan_command(app, exit_code);
  lanspread::app::add_discover_command(app, exit_code);
  // `lanspread help` lists the verbs under these headings, in this order.
  const std::pair<const char*, std::vector<const char*>> groups[] = {
      {"The daemon", {"serve"}},
      {"Games (ask the running daemon)",
       {"games", "get", "update", "install", "uninstall", "remove", "cancel", "watch"}},
      {"The daemon's state", {"status", "peers", "set-games-dir", "open"}},
      {"On their own", {"scan", "discover", "version", "help"}},
  };
  for (const auto& [heading, verbs] : groups) {
    for (const char* verb : verbs) app.get_subcommand(verb)->group(heading);
  }
  return lanspread::app::run_command_line(app, argc, argv, exit_code);
}
