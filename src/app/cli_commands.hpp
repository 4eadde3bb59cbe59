// The CLI verbs that talk to a running daemon (docs/cli.md). Each adds itself to the
// program's CLI11 app and, when it runs, stores its exit code (cli_context.hpp) in
// `exit_code`.
#pragma once

namespace CLI {
class App;
}

namespace lanspread::app {

// games, peers, status, set-games-dir, open, version, help.
void add_query_commands(CLI::App& app, int& exit_code);
// get, update, install, uninstall, remove, cancel (cli_operations.cpp).
void add_operation_commands(CLI::App& app, int& exit_code);
// watch (cli_watch.cpp).
void add_watch_command(CLI::App& app, int& exit_code);

// Parses the command line and runs the verb: its exit code, 2 for a usage error (after
// printing it), 0 for --help.
int run_command_line(CLI::App& app, int argc, char** argv, const int& exit_code);

}  // namespace lanspread::app
