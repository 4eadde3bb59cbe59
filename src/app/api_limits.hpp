// Every cap, budget and deadline of the local API, in one place with its default
// (docs/security.md, "Local API" limits; docs/api.md, "Limits").
#pragma once

#include <chrono>
#include <cstddef>

namespace lanspread::app {

struct EventLogLimits {
  std::size_t max_events = 4096;
  // A `library` event grows with peers x games; the log drops its oldest events to stay
  // under this many bytes of JSON (the newest event is always kept, whatever its size).
  std::size_t max_bytes = 16 * 1024 * 1024;
};

struct ApiLimits {
  std::size_t max_connections = 64;              // beyond it a new connection is closed at once
  std::size_t max_websockets = 32;               // beyond it an upgrade gets 503 too_many_streams
  std::size_t websocket_message_max = 4 * 1024;  // inbound; larger closes the client (1009)
  std::size_t header_max = 8 * 1024;             // request line + headers
  std::size_t body_max = 64 * 1024;
  // A connection must deliver each complete request within this time, the first one and
  // every keep-alive one after it; otherwise it is closed.
  std::chrono::seconds request_timeout{30};
  std::chrono::seconds write_timeout{30};
  std::chrono::milliseconds long_poll_max{25'000};
  // A WebSocket client that sends nothing (not even a pong to our ping, sent at half this
  // time) for this long is closed, also one that stopped reading while we write to it.
  std::chrono::seconds websocket_idle{60};
  std::size_t batch_events_max = 256;         // events per long-poll answer or WebSocket batch
  std::size_t batch_bytes_max = 1024 * 1024;  // bytes per batch (at least one event)
  // After EMFILE/ENFILE/ENOBUFS/ENOMEM the accept loop waits, doubling up to the maximum.
  std::chrono::milliseconds accept_backoff_min{100};
  std::chrono::milliseconds accept_backoff_max{1000};
  // A game action or a games dir change answers when the runtime has decided (for the games
  // dir: after checking the directory and repairing its games); 504 after this long.
  std::chrono::seconds decision_timeout{30};
};

struct AuthLimits {
  std::size_t max_sessions = 16;  // browser sessions; the least recently used is evicted
  std::chrono::hours session_idle{12};
  std::size_t max_login_tokens = 8;  // unredeemed one-time login URLs; the oldest is dropped
  std::chrono::minutes login_token_ttl{10};
};

}  // namespace lanspread::app
