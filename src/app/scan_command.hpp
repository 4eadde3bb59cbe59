#pragma once

#include <CLI/App.hpp>

namespace lanspread::app {

// `lanspread scan [--games DIR] [--catalog FILE] [--json] [--no-hash] [--threads N]`
void add_scan_command(CLI::App& app, int& exit_code);

}  // namespace lanspread::app
