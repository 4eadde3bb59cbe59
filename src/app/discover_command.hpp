#pragma once

#include <CLI/App.hpp>

namespace lanspread::app {

// `lanspread discover [--seconds N] [--json] [--advertise] ...`: browses mDNS for lanspread
// peers (optionally advertising this host) and prints what it saw. The first piece of the
// network doctor.
void add_discover_command(CLI::App& app, int& exit_code);

}  // namespace lanspread::app
