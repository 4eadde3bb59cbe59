#include "app/app_state.hpp"

#include "proto/codec.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace lanspread::app {
namespace json = boost::json;

json::value to_json(const runtime::ManifestSplit& m) {
  json::array groups;
  for (auto n : m.groups) groups.emplace_back(n);
  return json::object{{"version", m.version},
                      {"groups", std::move(groups)},
                      {"agreeing", m.agreeing},
                      {"dissenting", m.dissenting}};
}

json::value to_json(const runtime::GameView& g) {
  json::object by_version;
  for (const auto& [version, peers] : g.peers_by_version) {
    json::array a;
    for (const auto& p : peers) a.emplace_back(p);
    by_version[version] = std::move(a);
  }
  json::array latest_peers;
  for (const auto& p : g.latest_peers) latest_peers.emplace_back(p);
  return json::object{
      {"id", g.info.id},
      {"name", g.info.name},
      {"description", g.info.description},
      {"genre", g.info.genre},
      {"max_players", g.info.max_players},
      {"downloaded", g.downloaded},
      {"installed", g.installed},
      {"local_version", g.local_version},
      {"local_size", g.local_size},
      {"latest_version", g.latest_version},
      {"latest_peers", std::move(latest_peers)},
      {"latest_size", g.latest_size},
      {"peers_by_version", std::move(by_version)},
      {"update_available", g.update_available},
      {"available", g.available},
      {"manifest_disagreement",
       g.manifest_disagreement ? to_json(*g.manifest_disagreement) : json::value(nullptr)},
      // Filled by the download and install work; null while idle.
      {"active_operation", nullptr}};
}

json::value to_json(const runtime::ActiveOperation& op) {
  return json::object{
      {"kind", runtime::to_string(op.kind)},
      {"phase", op.phase},
      {"done", op.done},
      {"total", op.total},
      {"verified", op.verified},
      {"bytes_per_second", op.bytes_per_second},
      {"eta_seconds", op.eta_seconds ? json::value(*op.eta_seconds) : json::value(nullptr)},
      {"stalled_seconds", op.stalled_seconds},
      {"active_peers", op.active_peers},
      {"waiting_for", op.waiting_for.empty() ? json::value(nullptr) : json::value(op.waiting_for)}};
}

json::value to_json(const runtime::PeerView& p) {
  json::array addresses;
  for (const auto& a : p.addresses) addresses.emplace_back(a);
  return json::object{{"id", p.id},
                      {"name", p.name},
                      {"addresses", std::move(addresses)},
                      {"port", p.port},
                      {"game_count", p.game_count},
                      {"last_seen_ms_ago", p.last_seen_ms_ago},
                      {"state", p.state},
                      {"manual", p.manual}};
}

json::value AppState::status_json() const {
  return json::object{{"peer_id", peer_id},
                      {"name", name},
                      {"games_dir", games_dir.string()},
                      {"quic_port", quic_port},
                      {"version", version},
                      {"peer_count", peers.size()},
                      {"discovery", discovery_json()},
                      {"event_seq", events.next_seq() - 1}};
}

json::value AppState::discovery_json() const {
  json::array interfaces;
  for (const auto& i : discovery.interfaces) interfaces.emplace_back(i);
  return json::object{{"state", discovery.state}, {"interfaces", std::move(interfaces)}};
}

json::value AppState::manual_json() const {
  json::array out;
  for (const auto& m : manual_peers) {
    out.push_back(
        json::object{{"address", m.address},
                     {"peer_id", m.peer_id.empty() ? json::value(nullptr) : json::value(m.peer_id)},
                     {"listed", !m.peer_id.empty() && peers.contains(m.peer_id)}});
  }
  return out;
}

json::value AppState::settings_json() const {
  json::array peer_list, interface_list;
  for (const auto& p : settings.peers) peer_list.emplace_back(p);
  for (const auto& i : settings.interfaces) interface_list.emplace_back(i);
  return json::object{{"games_dir", games_dir.string()},
                      {"peers", std::move(peer_list)},
                      {"interfaces", std::move(interface_list)},
                      {"all_interfaces", settings.all_interfaces.value_or(false)},
                      {"config_file", config_file.string()}};
}

namespace {
json::value with_operation(const runtime::GameView& g,
                           const std::map<std::string, runtime::ActiveOperation>& operations) {
  json::value v = to_json(g);
  if (auto it = operations.find(g.info.id); it != operations.end()) {
    v.as_object()["active_operation"] = to_json(it->second);
  }
  return v;
}
}  // namespace

json::value AppState::games_json() const {
  json::array games;
  for (const auto& g : library.games) games.push_back(with_operation(g, operations));
  return json::object{{"games", std::move(games)}, {"local_revision", library.local_revision}};
}

std::optional<json::value> AppState::game_json(std::string_view id) const {
  for (const auto& g : library.games) {
    if (g.info.id == id) return with_operation(g, operations);
  }
  return std::nullopt;
}

json::value AppState::peers_json() const {
  json::array out;
  for (const auto& [id, p] : peers) {
    runtime::PeerView v = p;
    v.game_count = 0;
    for (const auto& g : library.games) {
      for (const auto& [game_version, holders] : g.peers_by_version) {
        if (std::find(holders.begin(), holders.end(), id) != holders.end()) ++v.game_count;
      }
    }
    auto j = to_json(v);
    if (traffic) {
      const auto r = traffic->rates(id, runtime::TrafficMeter::Clock::now());
      auto& o = j.as_object();
      o["bytes_in"] = r.bytes_in;
      o["bytes_out"] = r.bytes_out;
      o["bytes_per_second_in"] = r.bytes_per_second_in;
      o["bytes_per_second_out"] = r.bytes_per_second_out;
    }
    out.push_back(std::move(j));
  }
  return json::object{{"peers", std::move(out)}, {"manual", manual_json()}};
}

void AppState::apply(const runtime::PeerEvent& event) {
  std::visit(
      [&](const auto& e) {
        using T = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<T, runtime::LibrarySnapshot>) {
          library = e;
          events.append("library", json::serialize(games_json()));
        } else if constexpr (std::is_same_v<T, runtime::LocalLibraryChanged>) {
          json::array changed;
          for (const auto& id : e.changed) changed.emplace_back(id);
          events.append("local_library_changed",
                        json::serialize(json::object{{"changed", std::move(changed)}}));
        } else if constexpr (std::is_same_v<T, runtime::GotGameFiles>) {
          json::array peers_json;
          for (const auto& p : e.peers) peers_json.emplace_back(p);
          events.append("got_game_files",
                        json::serialize(json::object{{"id", e.id},
                                                     {"version", e.manifest.version},
                                                     {"files", e.manifest.files.size()},
                                                     {"peers", std::move(peers_json)}}));
        } else if constexpr (std::is_same_v<T, runtime::GetGameFailed>) {
          events.append("get_game_failed",
                        json::serialize(json::object{{"id", e.id}, {"reason", e.reason}}));
        } else if constexpr (std::is_same_v<T, runtime::PeerJoined>) {
          peers[e.peer.id] = e.peer;
          events.append("peer_joined", json::serialize(to_json(e.peer)));
        } else if constexpr (std::is_same_v<T, runtime::PeerLeft>) {
          peers.erase(e.id);
          events.append("peer_left",
                        json::serialize(json::object{{"id", e.id}, {"reason", e.reason}}));
        } else if constexpr (std::is_same_v<T, runtime::PeerCount>) {
          events.append("peer_count", json::serialize(json::object{{"count", e.count}}));
        } else if constexpr (std::is_same_v<T, runtime::GameDirChanged>) {
          games_dir = e.dir;
          events.append("games_dir_changed",
                        json::serialize(json::object{{"path", e.dir.string()}}));
        } else if constexpr (std::is_same_v<T, runtime::GameDirRejected>) {
          events.append("games_dir_rejected", json::serialize(json::object{{"path", e.dir.string()},
                                                                           {"reason", e.reason}}));
        } else if constexpr (std::is_same_v<T, runtime::ActiveOperations>) {
          operations = e.operations;
          json::object all;
          for (const auto& [id, op] : operations) all[id] = to_json(op);
          events.append("active_operations",
                        json::serialize(json::object{{"operations", std::move(all)}}));
        } else if constexpr (std::is_same_v<T, runtime::OperationBegin>) {
          events.append(
              "operation_begin",
              json::serialize(json::object{{"id", e.id}, {"kind", runtime::to_string(e.kind)}}));
        } else if constexpr (std::is_same_v<T, runtime::OperationProgress>) {
          operations[e.id] = e.operation;
          json::value v = to_json(e.operation);
          v.as_object()["id"] = e.id;
          events.append("operation_progress", json::serialize(v));
        } else if constexpr (std::is_same_v<T, runtime::OperationFinished>) {
          events.append("operation_finished",
                        json::serialize(json::object{{"id", e.id},
                                                     {"kind", runtime::to_string(e.kind)},
                                                     {"bytes_fetched", e.bytes_fetched},
                                                     {"bytes_reused", e.bytes_reused}}));
        } else if constexpr (std::is_same_v<T, runtime::OperationFailed>) {
          events.append("operation_failed",
                        json::serialize(json::object{{"id", e.id},
                                                     {"kind", runtime::to_string(e.kind)},
                                                     {"reason", e.reason},
                                                     {"rolled_back", e.rolled_back}}));
        } else if constexpr (std::is_same_v<T, runtime::OperationCancelled>) {
          events.append(
              "operation_cancelled",
              json::serialize(json::object{{"id", e.id}, {"kind", runtime::to_string(e.kind)}}));
        } else if constexpr (std::is_same_v<T, runtime::OperationRefused>) {
          events.append(
              "operation_refused",
              json::serialize(json::object{
                  {"id", e.id},
                  {"reason", e.reason},
                  {"code", e.code.empty() ? json::value(nullptr) : json::value(e.code)}}));
        } else if constexpr (std::is_same_v<T, runtime::ManifestDisagreement>) {
          json::value v = to_json(e.split);
          json::array chosen, dissenting;
          for (const auto& p : e.chosen_peers) chosen.emplace_back(p);
          for (const auto& p : e.dissenting_peers) dissenting.emplace_back(p);
          v.as_object()["id"] = e.id;
          v.as_object()["chosen_peers"] = std::move(chosen);
          v.as_object()["dissenting_peers"] = std::move(dissenting);
          events.append("manifest_disagreement", json::serialize(v));
        } else if constexpr (std::is_same_v<T, runtime::GameRecovered>) {
          json::array notes;
          for (const auto& n : e.notes) notes.emplace_back(n);
          events.append("game_recovered",
                        json::serialize(json::object{
                            {"id", e.id}, {"outcome", e.outcome}, {"notes", std::move(notes)}}));
        } else if constexpr (std::is_same_v<T, runtime::PeerStateChanged>) {
          if (auto it = peers.find(e.id); it != peers.end()) it->second.state = e.state;
          events.append("peer_state",
                        json::serialize(json::object{{"id", e.id}, {"state", e.state}}));
        } else if constexpr (std::is_same_v<T, runtime::DiscoveryStatus>) {
          discovery = e;
          events.append("discovery", json::serialize(discovery_json()));
        } else if constexpr (std::is_same_v<T, runtime::ManualPeers>) {
          manual_peers = e.peers;
          for (auto& [id, p] : peers) {
            p.manual = std::any_of(manual_peers.begin(), manual_peers.end(),
                                   [&](const auto& m) { return m.peer_id == id; });
          }
          events.append("manual_peers", json::serialize(json::object{{"manual", manual_json()}}));
        } else if constexpr (std::is_same_v<T, runtime::ManualPeerRefused>) {
          events.append("manual_peer_refused", json::serialize(json::object{{"address", e.address},
                                                                            {"reason", e.reason}}));
        } else if constexpr (std::is_same_v<T, runtime::RuntimeFailure>) {
          events.append("runtime_failure",
                        json::serialize(json::object{{"task", e.task}, {"message", e.message}}));
        }
      },
      event);
}

}  // namespace lanspread::app
