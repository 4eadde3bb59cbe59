#include "app/discover_command.hpp"

#include "discovery/discovery_service.hpp"

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <random>

#include <unistd.h>

namespace lanspread::app {
namespace {

namespace json = boost::json;
using discovery::Event;
using discovery::Peer;

struct DiscoverArgs {
  double seconds = 5;
  bool json = false;
  bool advertise = false;
  std::string id;
  std::string name;
  std::uint16_t port = 47000;
  std::uint64_t rev = 0;
  std::vector<std::string> txt;
  std::vector<std::string> interfaces;
  bool all_interfaces = false;
  unsigned ttl = 0;
  bool no_ipv6 = false;
  bool no_ipv4 = false;
};

std::string random_id() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

std::string host_label() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return "lanspread";
  std::string s(buf);
  return s.substr(0, s.find('.'));
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object peer_json(const Peer& p) {
  json::array addresses;
  for (const auto& a : p.addresses) addresses.emplace_back(a.to_string());
  json::object txt;
  for (const auto& [k, v] : p.txt) txt[k] = v;
  json::array ifs;
  for (const auto& i : p.interfaces) ifs.emplace_back(i);
  return json::object{{"id", p.id},
                      {"instance", p.instance},
                      {"host", p.host},
                      {"port", p.port},
                      {"addresses", std::move(addresses)},
                      {"txt", std::move(txt)},
                      {"interfaces", std::move(ifs)}};
}

// Names and TXT come from the network: control characters (terminal escapes) never reach
// the terminal.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s) out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c);
  return out;
}

std::string peer_line(const Peer& p) {
  std::string addrs;
  for (const auto& a : p.addresses) addrs += (addrs.empty() ? "" : ", ") + a.to_string();
  std::string txt;
  for (const auto& [k, v] : p.txt) txt += (txt.empty() ? "" : " ") + k + "=" + v;
  return printable(
      fmt::format("{} ({}) port {} at [{}] txt: {}", p.instance, p.id, p.port, addrs, txt));
}

int run_discover(const DiscoverArgs& args) {
  discovery::Settings settings;
  settings.interfaces.include_loopback = args.all_interfaces;
  settings.interfaces.include_virtual = args.all_interfaces;
  settings.interfaces.only = args.interfaces;
  settings.interfaces.ipv6 = !args.no_ipv6;
  settings.interfaces.ipv4 = !args.no_ipv4;
  if (args.ttl > 0) settings.record_ttl = std::chrono::seconds(args.ttl);

  boost::asio::io_context io;
  auto service = discovery::DiscoveryService::create(io.get_executor(), settings);
  if (auto started = service->start(); !started) {
    std::fprintf(stderr, "discover: %s\n", started.error().message().c_str());
    return 1;
  }
  if (args.advertise) {
    discovery::Advertisement ad;
    ad.id = args.id.empty() ? random_id() : args.id;
    ad.host_label = args.name.empty() ? host_label() : args.name;
    ad.port = args.port;
    ad.rev = args.rev;
    for (const auto& kv : args.txt) {
      const auto eq = kv.find('=');
      ad.extra_txt.emplace_back(kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
    }
    if (auto ok = service->advertise(ad); !ok) {
      std::fprintf(stderr, "discover: cannot advertise id \"%s\": %s\n", ad.id.c_str(),
                   ok.error().message().c_str());
      service->stop();
      io.run();
      return 2;
    }
  }

  service->browse([&](const Event& e) {
    json::object o{{"unix_ms", unix_ms()}};
    std::visit(
        [&](const auto& ev) {
          using T = std::decay_t<decltype(ev)>;
          if constexpr (std::is_same_v<T, discovery::PeerSeen>) {
            o["event"] = "seen";
            o["peer"] = peer_json(ev.peer);
            if (!args.json) fmt::print("+ {}\n", peer_line(ev.peer));
          } else if constexpr (std::is_same_v<T, discovery::PeerChanged>) {
            o["event"] = "changed";
            o["peer"] = peer_json(ev.peer);
            if (!args.json) fmt::print("~ {}\n", peer_line(ev.peer));
          } else {
            o["event"] = "lost";
            o["peer"] = json::object{{"id", ev.id}, {"instance", ev.instance}};
            if (!args.json) fmt::print("- {} ({})\n", printable(ev.instance), printable(ev.id));
          }
        },
        e);
    if (args.json) {
      // One line per event as it happens, so scripts can follow along.
      std::fputs((json::serialize(json::object{{"event", o}}) + "\n").c_str(), stdout);
    }
    std::fflush(stdout);
  });

  if (!args.json) {
    std::string ifs;
    for (const auto& i : service->interfaces()) ifs += (ifs.empty() ? "" : ", ") + i.name;
    fmt::print("Browsing _lanspread._udp.local on {}{}\n", ifs,
               service->instance() ? " as \"" + *service->instance() + "\"" : std::string());
    std::fflush(stdout);
  }

  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  boost::asio::steady_timer deadline(io);
  bool finished = false;
  auto finish = [&] {
    if (finished) return;
    finished = true;
    signals.cancel();
    deadline.cancel();
    service->stop();  // goodbyes go out, then the sockets close and run() returns
  };
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (!ec) finish();
  });
  if (args.seconds > 0) {
    deadline.expires_after(std::chrono::milliseconds(static_cast<long>(args.seconds * 1000)));
    deadline.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) finish();
    });
  }
  const std::vector<discovery::NetInterface> interfaces = service->interfaces();
  io.run();

  const auto peers = service->peers();
  if (args.json) {
    json::array ps;
    for (const auto& p : peers) ps.push_back(peer_json(p));
    json::array ifs;
    for (const auto& i : interfaces) ifs.emplace_back(i.name);
    json::object summary{{"interfaces", std::move(ifs)},
                         {"advertised", service->instance() ? json::value(*service->instance())
                                                            : json::value(nullptr)},
                         {"peers", std::move(ps)},
                         {"packets_received", service->stats().packets_received},
                         {"packets_malformed", service->stats().packets_malformed}};
    std::fputs((json::serialize(json::object{{"summary", std::move(summary)}}) + "\n").c_str(),
               stdout);
  } else {
    fmt::print("{} peer{} seen:\n", peers.size(), peers.size() == 1 ? "" : "s");
    for (const auto& p : peers) fmt::print("  {}\n", peer_line(p));
    if (service->stats().packets_malformed > 0)
      fmt::print("{} malformed mDNS packets were dropped.\n", service->stats().packets_malformed);
  }
  std::fflush(stdout);
  return 0;
}

}  // namespace

void add_discover_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<DiscoverArgs>();
  auto* cmd = app.add_subcommand("discover", "List lanspread peers on the LAN (mDNS)");
  cmd->add_option("--seconds", args->seconds, "How long to browse; 0 runs until Ctrl-C")
      ->check(CLI::Range(0.0, 86400.0));
  cmd->add_flag("--json", args->json, "Print JSON: one line per event, then a summary");
  cmd->add_flag("--advertise", args->advertise, "Also advertise this host as a peer");
  cmd->add_option("--id", args->id, "Peer id to advertise (default: random)");
  cmd->add_option("--name", args->name, "Readable host label (default: the host name)");
  cmd->add_option("--port", args->port, "QUIC port to advertise")->check(CLI::Range(1, 65535));
  cmd->add_option("--rev", args->rev, "Library revision to advertise");
  cmd->add_option("--txt", args->txt, "Extra TXT entry key=value (repeatable)");
  cmd->add_option("--interface", args->interfaces, "Use only this interface (repeatable)");
  cmd->add_flag("--all-interfaces", args->all_interfaces,
                "Also use loopback and virtual interfaces (bridges, containers)");
  cmd->add_option("--ttl", args->ttl, "TTL in seconds of advertised records (default 120)")
      ->check(CLI::Range(1u, 4500u));
  cmd->add_flag("--no-ipv6", args->no_ipv6, "IPv4 only");
  cmd->add_flag("--no-ipv4", args->no_ipv4, "IPv6 only");
  cmd->callback([args, &exit_code] { exit_code = run_discover(*args); });
}

}  // namespace lanspread::app
