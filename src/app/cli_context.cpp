#include "app/cli_context.hpp"

#include "app/api_address.hpp"
#include "app/api_key.hpp"
#include "app/cli_format.hpp"
#include "app/paths.hpp"
#include "sys/durable_file.hpp"

#include <fmt/format.h>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace lanspread::app::cli {
namespace json = boost::json;

void add_common_options(CLI::App& cmd, CommonOptions& options) {
  options.api = kDefaultApiAddress;
  cmd.add_option("--api", options.api,
                 "Address of the daemon's API, as given to `serve --api` (default 127.0.0.1:7878)");
  cmd.add_option("--state-dir,--state", options.state_dir,
                 "The daemon's state directory, which holds its api-key (default: "
                 "$LANSPREAD_STATE_DIR or ~/.local/share/lanspread/state)");
  cmd.add_flag("--json", options.json, "Machine-readable output (docs/cli.md)");
}

ApiKey read_api_key(const std::filesystem::path& state_dir, std::size_t max_bytes) {
  ApiKey out;
  out.path = api_key_path(state_dir);
  auto text = sys::read_small_file(out.path, max_bytes);
  if (!text) {
    out.problem = std::strerror(text.error().code);
    return out;
  }
  std::string key = std::move(*text);
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r' || key.back() == ' '))
    key.pop_back();
  // The key goes into a header line: only token characters, so it cannot end the line.
  const bool valid = !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("-._~+/=", c) != nullptr;
  });
  if (!valid) {
    out.problem = "the file does not hold a key";
    return out;
  }
  out.key = std::move(key);
  return out;
}

CliContext::CliContext(CommonOptions options, CliLimits limits)
    : options_(std::move(options)), limits_(limits) {}

std::optional<int> CliContext::connect() {
  const auto endpoint = parse_api_address(options_.api);
  if (!endpoint) {
    return fail(kExitUsage, "usage",
                "--api " + options_.api + ": expected ADDRESS:PORT, e.g. 127.0.0.1:7878");
  }
  const std::filesystem::path state_dir =
      options_.state_dir.empty() ? default_state_dir() : std::filesystem::path(options_.state_dir);
  key_ = read_api_key(state_dir, limits_.client.api_key_max);
  // The Host header names the daemon as the person did ("localhost:7878" stays so).
  std::string host = options_.api;
  if (!host.starts_with("localhost:")) host = host_and_port(*endpoint);
  client_ = std::make_unique<DaemonClient>(*endpoint, host, key_.key, limits_.client);
  return std::nullopt;
}

int CliContext::fail(int exit_code, std::string_view code, const std::string& message) {
  std::fflush(stdout);
  fmt::print(stderr, "lanspread: {}\n", message);
  if (options_.json) {
    print_json(json::object{{"error", json::object{{"code", code}, {"message", message}}}});
  }
  return exit_code;
}

int CliContext::fail(const boost::system::error_code& ec) {
  if (ec == ClientErrc::daemon_not_running) {
    return fail(kExitNotRunning, "daemon_not_running",
                fmt::format("no lanspread daemon answers at {}. Start it with `lanspread serve` "
                            "(or `systemctl --user start lanspread`), or pass --api ADDRESS:PORT "
                            "if it listens elsewhere.",
                            options_.api));
  }
  if (ec == ClientErrc::stream_closed) {
    return fail(kExitNotRunning, "daemon_stopped",
                fmt::format("the daemon at {} stopped. Start it again with `lanspread serve` (or "
                            "`systemctl --user start lanspread`).",
                            options_.api));
  }
  if (ec == ClientErrc::timed_out) {
    return fail(kExitError, "timed_out",
                fmt::format("the daemon at {} accepted the connection but did not answer in "
                            "time; it may be overloaded or stuck (see its log).",
                            options_.api));
  }
  return fail(kExitError, "client", fmt::format("{}: {}", options_.api, ec.message()));
}

int CliContext::fail(const Reply& reply) {
  const std::string message = printable(reply.error_message());
  std::string code = reply.error_code();
  if (code.empty()) code = "http_" + std::to_string(reply.status);
  if (reply.status == 401) {
    // The daemon's own message speaks of headers; a person needs to know which file was read.
    return fail(kExitError, code,
                fmt::format("the daemon at {} refused the API key read from {} ({}). Pass "
                            "--state-dir DIR if the daemon uses another state directory (its "
                            "--state), and run as the user who runs the daemon.",
                            options_.api, key_.path.string(),
                            key_.problem.empty() ? "not the daemon's key" : key_.problem));
  }
  if (reply.status == 409 || reply.status == 404 || reply.status == 400) {
    return fail(kExitRefused, code,
                message.empty() ? fmt::format("refused ({})", reply.status) : message);
  }
  return fail(kExitError, code,
              fmt::format("unexpected answer {} from the daemon{}{}", reply.status,
                          message.empty() ? "" : ": ", message));
}

std::optional<json::value> CliContext::get_json(std::string_view target, int& exit_code) {
  auto reply = client_->get(target);
  if (!reply) {
    exit_code = fail(reply.error());
    return std::nullopt;
  }
  if (reply->status != 200) {
    exit_code = fail(*reply);
    return std::nullopt;
  }
  return std::move(reply->body);
}

void CliContext::print_json(const json::value& v) {
  std::string line = json::serialize(v);
  line += '\n';
  std::fputs(line.c_str(), stdout);
  std::fflush(stdout);
}

}  // namespace lanspread::app::cli
