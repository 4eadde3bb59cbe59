#include "app/serve_command.hpp"

#include "app/paths.hpp"
#include "runtime/peer_runtime.hpp"
#include "transport/error.hpp"
#ifdef LANSPREAD_HAVE_MDNS
#include "runtime/mdns_discovery.hpp"
#endif

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>
#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <CLI/CLI.hpp>

namespace lanspread::app {
namespace {

struct ServeArgs {
  std::string games_dir;
  std::string state_dir;
  std::string catalog;
  std::string name;
  std::uint16_t port = 7979;
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
        } else if constexpr (std::is_same_v<T, runtime::RuntimeFailure>) {
          spdlog::error("{}: {}", e.task, e.message);
        } else if constexpr (std::is_same_v<T, runtime::GotGameFiles>) {
          spdlog::info("{}: manifest of version {} from {} peer(s)", e.id, e.manifest.version,
                       e.peers.size());
        } else if constexpr (std::is_same_v<T, runtime::GetGameFailed>) {
          spdlog::warn("{}: {}", e.id, e.reason);
        }
      },
      event);
}

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "lanspread";
  return buf;
}

int run_serve(const ServeArgs& args) {
  runtime::PeerConfig config;
  if (!args.catalog.empty()) {
    auto c = library::Catalog::load_file(args.catalog);
    if (!c) {
      spdlog::error("{}", c.error().message());
      return 1;
    }
    config.catalog = std::make_shared<library::Catalog>(std::move(*c));
  } else {
    config.catalog = std::make_shared<library::Catalog>(library::Catalog::bundled());
  }
  std::error_code ec;
  if (args.games_dir.empty()) {
    config.games_dir = default_games_dir();
    std::filesystem::create_directories(config.games_dir, ec);
  } else {
    config.games_dir = args.games_dir;
  }
  if (auto ok = runtime::validate_games_dir(config.games_dir); !ok) {
    spdlog::error("{}: {}", config.games_dir.string(), ok.error().message());
    return 1;
  }
  config.state_dir =
      args.state_dir.empty() ? default_state_dir() : std::filesystem::path(args.state_dir);
  config.name = args.name.empty() ? host_name() : args.name;
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_port = htons(args.port);
  in.sin_addr.s_addr = htonl(INADDR_ANY);
  config.bind = transport::Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
#ifdef LANSPREAD_HAVE_MDNS
  config.discovery = [](boost::asio::any_io_executor ex) {
    return runtime::make_mdns_discovery(std::move(ex), discovery::Settings{});
  };
#endif

  auto handle = runtime::start_peer(config, log_event);
  if (!handle) {
    spdlog::error("cannot start: {}", handle.error().message());
    if (handle.error() == transport::errc::socket_failed) {
      spdlog::error("is port {} in use? pass --port to choose another", args.port);
    }
    return 1;
  }
  spdlog::info("lanspread {} serving as {} ({}) on UDP port {}, games dir {}", LANSPREAD_VERSION,
               config.name, (*handle)->peer_id(), (*handle)->port(), config.games_dir.string());
  (*handle)->send(runtime::ListGames{});

  boost::asio::io_context main_loop;
  boost::asio::signal_set signals(main_loop, SIGINT, SIGTERM);
  signals.async_wait([](const boost::system::error_code&, int sig) {
    spdlog::info("{} received, saying goodbye", sig == SIGINT ? "SIGINT" : "SIGTERM");
  });
  main_loop.run();
  (*handle)->stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand("serve", "Run the peer: share and fetch games on the LAN");
  cmd->add_option("--games", args->games_dir,
                  "Games directory (default: $LANSPREAD_GAMES_DIR or "
                  "~/.local/share/lanspread/games)");
  cmd->add_option("--state", args->state_dir,
                  "State directory for the peer identity (default: "
                  "$LANSPREAD_STATE_DIR or ~/.local/share/lanspread/state)");
  cmd->add_option("--port", args->port, "UDP port for QUIC (default 7979; 0 picks a free one)");
  cmd->add_option("--catalog", args->catalog, "Catalog file to use instead of the bundled one");
  cmd->add_option("--name", args->name, "Name shown to other peers (default: host name)");
  cmd->callback([args, &exit_code] { exit_code = run_serve(*args); });
}

}  // namespace lanspread::app
