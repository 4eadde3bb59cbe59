// What the daemon's front ends show, kept up to date from runtime events on the network
// thread, and its JSON form (docs/api.md).
#pragma once

#include "app/config_file.hpp"
#include "app/event_log.hpp"
#include "runtime/commands.hpp"
#include "runtime/traffic_meter.hpp"

#include <boost/json/value.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace lanspread::app {

struct AppState {
  AppState(boost::asio::any_io_executor ex, EventLogLimits event_limits = {})
      : events(ex, event_limits) {}

  std::string peer_id;
  std::string name;
  std::string version;
  std::filesystem::path games_dir;
  // Manual peers and interfaces as serve resolved them (flags, environment, file); the games
  // dir above is the live one.
  Settings settings;
  std::filesystem::path config_file;  // where API changes are saved
  std::uint16_t quic_port = 0;
  runtime::LibrarySnapshot library;
  std::map<std::string, runtime::PeerView> peers;
  std::map<std::string, runtime::ActiveOperation> operations;
  runtime::DiscoveryStatus discovery{"starting", {}};
  std::vector<runtime::ManualPeerView> manual_peers;
  EventLog events;
  // Bytes to and from each peer, counted by the runtime (null: no rates in peers_json()).
  std::shared_ptr<const runtime::TrafficMeter> traffic;

  // Folds an event into the state and appends it to the event log.
  void apply(const runtime::PeerEvent& event);

  boost::json::value status_json() const;
  boost::json::value games_json() const;
  // One game of games_json(), or nullopt when `id` is not a catalog game.
  std::optional<boost::json::value> game_json(std::string_view id) const;
  boost::json::value peers_json() const;
  boost::json::value discovery_json() const;
  boost::json::value manual_json() const;
  boost::json::value settings_json() const;
};

boost::json::value to_json(const runtime::GameView& g);
boost::json::value to_json(const runtime::ManifestSplit& m);
boost::json::value to_json(const runtime::PeerView& p);
boost::json::value to_json(const runtime::ActiveOperation& op);

}  // namespace lanspread::app
