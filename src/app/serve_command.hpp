#pragma once

#include <CLI/App.hpp>

namespace lanspread::app {

// `lanspread serve [--games DIR] [--state DIR] [--port N] [--catalog FILE] [--name NAME]`
void add_serve_command(CLI::App& app, int& exit_code);

}  // namespace lanspread::app
