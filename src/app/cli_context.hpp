// What every CLI verb that talks to the daemon shares (docs/cli.md): the common options,
// the connection (address, API key from the state dir), the exit codes and how failures are
// told (a sentence on stderr; with --json also one JSON document on stdout).
#pragma once

#include "app/cli_client.hpp"

#include <boost/json/value.hpp>

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace lanspread::app::cli {

// The documented exit codes (docs/cli.md, "Exit codes").
enum ExitCode : int {
  kExitOk = 0,
  kExitError = 1,          // anything else: API key refused, unexpected answer, time-out
  kExitUsage = 2,          // bad command line
  kExitNotRunning = 3,     // no daemon answers at the address
  kExitRefused = 4,        // the daemon refused the request (its reason is printed)
  kExitFailed = 5,         // the operation ran and failed (its reason is printed)
  kExitInterrupted = 130,  // Ctrl-C (SIGINT) or SIGTERM: the running operation was cancelled
};

struct CommonOptions {
  std::string api;        // ADDRESS:PORT of the daemon's API
  std::string state_dir;  // where the daemon keeps its api-key
  bool json = false;
};
// --api, --state-dir (alias --state, as `serve` spells it), --json.
void add_common_options(CLI::App& cmd, CommonOptions& options);

// Reads <state dir>/api-key: the key, or an empty key and `problem` saying why not (the
// daemon's 401 answer is then explained with it).
struct ApiKey {
  std::string key;
  std::filesystem::path path;
  std::string problem;
};
ApiKey read_api_key(const std::filesystem::path& state_dir, std::size_t max_bytes);

class CliContext {
 public:
  explicit CliContext(CommonOptions options, CliLimits limits = {});

  // Parses the address and reads the key. nullopt when ready; else the exit code, reported.
  std::optional<int> connect();
  DaemonClient& client() { return *client_; }
  bool json() const { return options_.json; }
  const WaitLimits& waits() const { return limits_.wait; }
  // The daemon's state dir (where its api-key is), as resolved by connect().
  std::filesystem::path state_dir() const { return key_.path.parent_path(); }
  // "127.0.0.1:7878", as given to --api.
  const std::string& address() const { return options_.api; }

  // "lanspread: <message>" on stderr; with --json also {"error":{"code","message"}} on
  // stdout. Returns `exit_code`.
  int fail(int exit_code, std::string_view code, const std::string& message);
  // A transport failure: "daemon not running" (3, with how to start it) or 1.
  int fail(const boost::system::error_code& ec);
  // An answer the verb did not expect: 401 (key), 404/409/400 (refused, 4), others (1).
  int fail(const Reply& reply);

  // GET `target` expecting 200: its body, or nullopt with `exit_code` set (reported).
  std::optional<boost::json::value> get_json(std::string_view target, int& exit_code);
  // One JSON document on one line of stdout.
  static void print_json(const boost::json::value& v);

 private:
  CommonOptions options_;
  CliLimits limits_;
  ApiKey key_;
  std::unique_ptr<DaemonClient> client_;
};

}  // namespace lanspread::app::cli
