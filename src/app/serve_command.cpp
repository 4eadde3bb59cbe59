#include "app/serve_command.hpp"

#include "app/api_address.hpp"
#include "app/api_key.hpp"
#include "app/api_server.hpp"
#include "app/config_file.hpp"
#include "app/paths.hpp"
#include "library/hasher.hpp"
#include "runtime/mdns_discovery.hpp"
#include "runtime/peer_runtime.hpp"
#include "transport/error.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <future>

#include <CLI/CLI.hpp>

namespace lanspread::app {
namespace {

struct ServeArgs {
  std::string games_dir;
  std::string state_dir;
  std::string catalog;
  std::string name;
  std::uint16_t port = 7979;
  std::string api = kDefaultApiAddress;
  std::string party_key_file;
  std::string config_file;  // empty: default_config_path()
  // --peer HOST[:PORT], --interface NAME, --all-interfaces; else from the settings file.
  std::vector<std::string> peers;
  std::vector<std::string> interfaces;
  bool all_interfaces = false;
};

// Where the games dir comes from: flag > $LANSPREAD_GAMES_DIR > settings file > default.
std::pair<std::string, std::string> choose_games_dir(const ServeArgs& args, const Settings& file,
                                                     const std::filesystem::path& config_path) {
  if (!args.games_dir.empty()) return {args.games_dir, "--games"};
  if (const char* env = std::getenv("LANSPREAD_GAMES_DIR"); env != nullptr && *env != '\0')
    return {env, "$LANSPREAD_GAMES_DIR"};
  if (file.games_dir) return {file.games_dir->string(), config_path.string()};
  return {"", "default"};
}

// The party key is the SHA-256 of the file's content (a passphrase or random bytes), so
// every machine of the party can be given the same file.
std::optional<std::array<std::uint8_t, 32>> read_party_key(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string content((std::istreambuf_iterator<char>(in)), {});
  while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) content.pop_back();
  if (content.empty() || content.size() > 4096) return std::nullopt;
  const auto digest =
      library::sha256({reinterpret_cast<const std::uint8_t*>(content.data()), content.size()});
  return digest.bytes;
}

// What the daemon keeps for its front ends; touched only on the network thread.
struct Daemon {
  std::shared_ptr<AppState> state;
  std::vector<runtime::PeerEvent> early;  // events before the state existed
  std::shared_ptr<ApiServer> api;
};

std::string short_id(const std::string& id) {
  return id.substr(0, 8);
}

// Turns runtime events into log lines a person can follow.
void log_event(const runtime::PeerEvent& event) {
  std::visit(
      [](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, runtime::LocalLibraryChanged>) {
          std::size_t downloaded = 0;
          for (const auto& g : e.library->games) downloaded += g.downloaded ? 1 : 0;
          spdlog::info("library: {} game(s) here, {} downloaded", e.library->games.size(),
                       downloaded);
          for (const auto& g : e.library->games) {
            if (!e.changed.contains(g.id)) continue;
            for (const auto& p : g.problems) spdlog::warn("{}: {}", g.id, p);
          }
        } else if constexpr (std::is_same_v<T, runtime::PeerJoined>) {
          spdlog::info("peer joined: {} ({}) at {}", e.peer.name, short_id(e.peer.id),
                       fmt::join(e.peer.addresses, ", "));
        } else if constexpr (std::is_same_v<T, runtime::PeerLeft>) {
          spdlog::info("peer left: {} ({})", short_id(e.id), e.reason);
        } else if constexpr (std::is_same_v<T, runtime::PeerCount>) {
          spdlog::info("peers: {}", e.count);
        } else if constexpr (std::is_same_v<T, runtime::GameDirChanged>) {
          spdlog::info("games dir: {}", e.dir.string());
        } else if constexpr (std::is_same_v<T, runtime::GameDirRejected>) {
          spdlog::warn("games dir {} refused: {}", e.dir.string(), e.reason);
        } else if constexpr (std::is_same_v<T, runtime::PeerStateChanged>) {
          spdlog::info("peer {} is {}", short_id(e.id), e.state);
        } else if constexpr (std::is_same_v<T, runtime::DiscoveryStatus>) {
          if (e.interfaces.empty()) {
            spdlog::info("discovery: {}", e.state);
          } else {
            spdlog::info("discovery: {} on {}", e.state, fmt::join(e.interfaces, ", "));
          }
        } else if constexpr (std::is_same_v<T, runtime::ManualPeerRefused>) {
          spdlog::warn("manual peer {}: {}", e.address, e.reason);
        } else if constexpr (std::is_same_v<T, runtime::RuntimeFailure>) {
          spdlog::error("{}: {}", e.task, e.message);
        } else if constexpr (std::is_same_v<T, runtime::GotGameFiles>) {
          spdlog::info("{}: manifest of version {} from {} peer(s)", e.id, e.manifest.version,
                       e.peers.size());
        } else if constexpr (std::is_same_v<T, runtime::GetGameFailed>) {
          spdlog::warn("{}: {}", e.id, e.reason);
        } else if constexpr (std::is_same_v<T, runtime::OperationBegin>) {
          spdlog::info("{}: {} started", e.id, runtime::to_string(e.kind));
        } else if constexpr (std::is_same_v<T, runtime::OperationFinished>) {
          spdlog::info("{}: {} finished", e.id, runtime::to_string(e.kind));
        } else if constexpr (std::is_same_v<T, runtime::OperationFailed>) {
          spdlog::error("{}: {} failed ({}): {}", e.id, runtime::to_string(e.kind),
                        e.rolled_back ? "nothing changed" : "left for recovery", e.reason);
        } else if constexpr (std::is_same_v<T, runtime::OperationCancelled>) {
          spdlog::info("{}: {} cancelled", e.id, runtime::to_string(e.kind));
        } else if constexpr (std::is_same_v<T, runtime::OperationRefused>) {
          spdlog::warn("{}: refused: {}", e.id, e.reason);
        } else if constexpr (std::is_same_v<T, runtime::ManifestDisagreement>) {
          spdlog::warn(
              "{}: peers disagree about the files of version {} (groups of {}); "
              "using the {} peer(s) of the chosen group",
              e.id, e.split.version, fmt::join(e.split.groups, ", "), e.split.agreeing);
        } else if constexpr (std::is_same_v<T, runtime::GameRecovered>) {
          spdlog::warn("{}: recovered an interrupted operation ({}){}{}", e.id, e.outcome,
                       e.notes.empty() ? "" : ": ", fmt::join(e.notes, "; "));
        }
      },
      event);
}

// The API, QUIC and the open-file cache all need descriptors; the soft limit is often far
// below what the system allows this user (1024 vs 524288), so take what is allowed.
void raise_open_file_limit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur >= lim.rlim_max) {
    spdlog::info("open files: limit {}", lim.rlim_cur);
    return;
  }
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    spdlog::warn("open files: limit {}; cannot raise it to {}: {}", before, lim.rlim_max,
                 std::strerror(errno));
    return;
  }
  spdlog::info("open files: limit raised from {} to {}", before, lim.rlim_cur);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "lanspread";
  return buf;
}

int run_serve(ServeArgs args) {
  const auto api_address = parse_api_address(args.api);
  if (!api_address) {
    spdlog::error("--api {}: expected ADDRESS:PORT, e.g. 127.0.0.1:7878", args.api);
    return 1;
  }
  runtime::PeerConfig config;
  config.traffic = std::make_shared<runtime::TrafficMeter>(config.limits.max_peers);
  auto catalog = load_catalog(args.catalog);
  if (!catalog) {
    spdlog::error("{}", catalog.error().message());
    return 1;
  }
  config.catalog = *catalog;
  const std::filesystem::path config_path =
      args.config_file.empty() ? default_config_path() : std::filesystem::path(args.config_file);
  auto file = read_config(config_path);
  if (!file) {
    spdlog::error("{}", file.error().message);
    return 1;
  }
  for (const auto& w : file->warnings) spdlog::warn("{}", w);
  if (args.peers.empty()) args.peers = file->settings.peers;
  if (args.interfaces.empty()) args.interfaces = file->settings.interfaces;
  if (!args.all_interfaces) args.all_interfaces = file->settings.all_interfaces.value_or(false);
  const auto [games_dir, games_dir_from] = choose_games_dir(args, file->settings, config_path);
  config.games_dir = resolve_games_dir(games_dir);
  if (auto ok = runtime::validate_games_dir(config.games_dir); !ok) {
    spdlog::error("{} (from {}): {}", config.games_dir.string(), games_dir_from,
                  ok.error().message());
    return 1;
  }
  spdlog::info("games dir {} (from {}); settings file {}", config.games_dir.string(),
               games_dir_from, config_path.string());
  config.state_dir =
      args.state_dir.empty() ? default_state_dir() : std::filesystem::path(args.state_dir);
  config.name = args.name.empty() ? host_name() : args.name;
  raise_open_file_limit();
  // Made before the identity, so the state dir is private from its first file on.
  ApiServerConfig api_config;
  api_config.address = *api_address;
  api_config.key_path = api_key_path(config.state_dir);
  std::vector<std::string> key_warnings;
  if (auto key = load_or_create_api_key(config.state_dir, &key_warnings)) {
    api_config.key = std::move(*key);
    for (const auto& w : key_warnings) spdlog::warn("{}", w);
  } else {
    spdlog::error("{}", key.error().message());
    return 1;
  }
  if (!args.party_key_file.empty()) {
    config.transport.party_key = read_party_key(args.party_key_file);
    if (!config.transport.party_key) {
      spdlog::error("--party-key {}: cannot read a key (1 to 4096 bytes) from it",
                    args.party_key_file);
      return 1;
    }
    spdlog::info("party key set: only peers with the same key can list or download");
  }
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(args.port);
  in.sin_addr.s_addr = htonl(INADDR_ANY);
  config.bind = transport::Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
  for (const auto& p : args.peers) {
    std::string why;
    if (!runtime::parse_manual_address(p, config.limits.min_port, why)) {
      spdlog::error("--peer {}: {}", p, why);
      return 1;
    }
  }
  if (args.peers.size() > config.limits.max_manual_peers) {
    spdlog::error("--peer: at most {} manual peers", config.limits.max_manual_peers);
    return 1;
  }
  config.manual_peers = args.peers;
  config.manual_store = runtime::make_file_peer_store(config.state_dir);
  discovery::Settings mdns;
  // A daemon may start before its network: discovery waits for a usable interface.
  mdns.wait_for_interface = true;
  mdns.interfaces.only = args.interfaces;
  mdns.interfaces.include_virtual = args.all_interfaces;
  mdns.interfaces.include_loopback = args.all_interfaces;
  config.discovery = [mdns](boost::asio::any_io_executor ex) {
    return runtime::make_mdns_discovery(std::move(ex), mdns);
  };

  // Blocking work of the API (saving the settings file), off the network thread.
  boost::asio::thread_pool blocking(1);
  api_config.config_file = config_path;
  api_config.blocking = blocking.get_executor();
  Settings settings;
  settings.peers = args.peers;
  settings.interfaces = args.interfaces;
  settings.all_interfaces = args.all_interfaces;

  auto daemon = std::make_shared<Daemon>();
  auto handle = runtime::start_peer(config, [daemon](runtime::PeerEvent e) {
    log_event(e);
    if (daemon->state) {
      daemon->state->apply(e);
    } else {
      daemon->early.push_back(std::move(e));
    }
  });
  if (!handle) {
    spdlog::error("cannot start: {}", handle.error().message());
    if (handle.error() == transport::errc::socket_failed) {
      spdlog::error("is port {} in use? pass --port to choose another", args.port);
    }
    return 1;
  }
  spdlog::info("lanspread {} serving as {} ({}) on UDP port {}, games dir {}", LANSPREAD_VERSION,
               config.name, (*handle)->peer_id(), (*handle)->port(), config.games_dir.string());
  // The API lives on the network thread, next to the state it reads.
  std::promise<boost::system::result<std::uint16_t>> api_ready;
  result<std::string> login_url = std::string();
  api_config.blocking = (*handle)->disk_executor();
  boost::asio::post((*handle)->executor(), [&, h = handle->get()] {
    daemon->state = std::make_shared<AppState>(h->executor());
    daemon->state->peer_id = h->peer_id();
    daemon->state->name = config.name;
    daemon->state->version = LANSPREAD_VERSION;
    daemon->state->games_dir = config.games_dir;
    daemon->state->settings = settings;
    daemon->state->config_file = config_path;
    daemon->state->quic_port = h->port();
    daemon->state->traffic = config.traffic;
    for (const auto& e : daemon->early) daemon->state->apply(e);
    daemon->early.clear();
    auto api = ApiServer::start(h->executor(), api_config, daemon->state,
                                [h](runtime::PeerCommand c, runtime::DecisionFn d) {
                                  h->send(std::move(c), std::move(d));
                                });
    if (api) {
      daemon->api = *api;
      login_url = (*api)->login_url();
      api_ready.set_value((*api)->port());
    } else {
      api_ready.set_value(api.error());
    }
  });
  const auto api_port = api_ready.get_future().get();
  if (!api_port) {
    spdlog::error("cannot open the API on {}: {} (pass --api ADDRESS:PORT)", args.api,
                  api_port.error().message());
    (*handle)->stop();
    blocking.join();
    return 1;
  }
  spdlog::info("API on http://{}:{}/ (requests need the key in {})",
               api_address->address().is_v6() ? "[" + api_address->address().to_string() + "]"
                                              : api_address->address().to_string(),
               *api_port, api_config.key_path.string());
  if (!api_address->address().is_loopback()) {
    spdlog::warn(
        "the API listens on {}, not on loopback: every machine that can reach this address can "
        "try to drive this daemon (download, install, uninstall and remove games, change the "
        "games dir, read the event stream). Each request still needs the API key, but the key "
        "and session cookies cross the network unencrypted (plain HTTP). Use the default "
        "--api 127.0.0.1:7878 unless you mean this.",
        args.api);
  }
  if (login_url) {
    spdlog::info("web UI login (one-time link, valid {} minutes): {}",
                 api_config.auth.login_token_ttl.count(), *login_url);
  } else {
    spdlog::warn("no login link: {}", login_url.error().message());
  }
  (*handle)->send(runtime::ListGames{});

  boost::asio::io_context main_loop;
  boost::asio::signal_set signals(main_loop, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int sig) {
    spdlog::info("{} received, saying goodbye", sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  main_loop.run();
  boost::asio::post((*handle)->executor(), [daemon] {
    if (daemon->api) daemon->api->stop();
  });
  (*handle)->stop();
  blocking.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the peer: share and fetch games on the LAN");
  cmd->add_option("--games", args->games_dir,
                  "Games directory (default: $LANSPREAD_GAMES_DIR, else games_dir of the settings "
                  "file, else ~/.local/share/lanspread/games)");
  cmd->add_option("--config", args->config_file,
                  "Settings file (default: $XDG_CONFIG_HOME/lanspread/config or "
                  "~/.config/lanspread/config; see docs/cli.md)");
  cmd->add_option("--state", args->state_dir,
                  "State directory for the peer identity (default: "
                  "$LANSPREAD_STATE_DIR or ~/.local/share/lanspread/state)");
  cmd->add_option("--port", args->port, "UDP port for QUIC (default 7979; 0 picks a free one)");
  cmd->add_option("--catalog", args->catalog, "Catalog file to use instead of the bundled one");
  cmd->add_option("--name", args->name, "Name shown to other peers (default: host name)");
  cmd->add_option("--api", args->api, "Address of the local HTTP API (default 127.0.0.1:7878)");
  cmd->add_option("--party-key", args->party_key_file,
                  "File with the party's shared secret: only peers with the same file can list or "
                  "download");
  cmd->add_option("--interface", args->interfaces,
                  "Run discovery on this network interface only (repeatable; default: every "
                  "interface with an address except loopback and container/VM bridges)");
  cmd->add_flag("--all-interfaces", args->all_interfaces,
                "Run discovery on every multicast-capable interface, container/VM bridges and "
                "loopback included");
  cmd->add_option("--peer", args->peers,
                  "A peer to reach by address, HOST or HOST:PORT (default port 7979; repeatable): "
                  "for networks where multicast does not pass");
  cmd->callback([args, &exit_code] { exit_code = run_serve(*args); });
}

}  // namespace lanspread::app
