// Every deadline and cap of the command-line client, in one place with its default
// (docs/security.md, "Command-line client"; docs/cli.md, "Limits").
#pragma once

#include <chrono>
#include <cstddef>

namespace lanspread::app::cli {

// The HTTP/WebSocket client (cli_client.hpp).
struct ClientLimits {
  std::chrono::milliseconds connect_timeout{3'000};
  // From sending a request to the end of its answer (also the WebSocket handshake).
  std::chrono::milliseconds request_timeout{15'000};
  std::size_t response_header_max = 16 * 1024;
  // Answers and events carry the whole library (peers x games); anything larger is refused.
  std::size_t response_body_max = 64 * 1024 * 1024;
  std::size_t event_message_max = 64 * 1024 * 1024;
  // The event stream pings the daemon after half of this without traffic and gives up
  // after all of it: a hung or vanished daemon is noticed.
  std::chrono::seconds event_idle_timeout{20};
  std::size_t api_key_max = 4 * 1024;
};

// The verbs that wait for the daemon to act.
struct WaitLimits {
  // From the daemon's 202 to the operation's begin (or refusal) in the event stream.
  std::chrono::seconds begin_wait{30};
  // From a cancel request (Ctrl-C, `cancel`) to the operation's end.
  std::chrono::seconds cancel_wait{30};
  // set-games-dir: when the daemon's answer outlasts the request timeout (it repairs a large
  // games dir first), how long to wait for its games_dir_changed (or rejected) event.
  std::chrono::seconds games_dir_wait{30};
  // open: how long xdg-open may take to hand the URL to a browser before it is left alone.
  std::chrono::seconds opener_wait{5};
  // How often a wait for events wakes to check its deadlines and redraw.
  std::chrono::milliseconds tick{250};
};

struct CliLimits {
  ClientLimits client;
  WaitLimits wait;
};

}  // namespace lanspread::app::cli
