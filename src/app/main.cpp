// lanspread: the one program. Each verb is a subcommand.
#include "app/discover_command.hpp"
#include "app/scan_command.hpp"
#include "app/serve_command.hpp"

#include <CLI/CLI.hpp>

int main(int argc, char** argv) {
  CLI::App app{"lanspread: share a game library across a LAN"};
  app.require_subcommand(1);
  app.set_version_flag("--version", LANSPREAD_VERSION);
  int exit_code = 0;
  lanspread::app::add_scan_command(app, exit_code);
  lanspread::app::add_serve_command(app, exit_code);
  lanspread::app::add_discover_command(app, exit_code);
  CLI11_PARSE(app, argc, argv);
  return exit_code;
}
