#include "runtime/peer_runtime_impl.hpp"

#include "library/hasher.hpp"
#include "proto/codec.hpp"

namespace lanspread::runtime {
using asio::awaitable;
using asio::use_awaitable;

std::string_view to_string(OperationKind k) noexcept {
  switch (k) {
    case OperationKind::install:
      return "install";
    case OperationKind::update:
      return "update";
    case OperationKind::uninstall:
      return "uninstall";
    case OperationKind::remove:
      return "remove";
    case OperationKind::download:
      return "download";
    case OperationKind::verify:
      return "verify";
  }
  return "install";
}

boost::system::result<void> validate_games_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  if (dir.empty() || !std::filesystem::is_directory(dir, ec)) return errc::games_dir_invalid;
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) return errc::games_dir_invalid;
  return {};
}

PeerView PeerRuntime::view_of(const PeerInfo& p) const {
  PeerView v;
  v.id = p.peer_id;
  v.name = p.name;
  for (const auto& a : p.addresses) v.addresses.push_back(a.to_string());
  if (!p.addresses.empty()) {
    const auto& st = p.addresses.front().storage;
    v.port = ntohs(st.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6*>(&st)->sin6_port
                                            : reinterpret_cast<const sockaddr_in*>(&st)->sin_port);
  }
  v.last_seen_ms_ago =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - p.last_seen).count();
  v.state = unreachable_.contains(p.peer_id) ? "unreachable" : "reachable";
  v.manual = is_manual_peer(p.peer_id);
  return v;
}

boost::system::result<void> PeerRuntime::start() {
  if (!config_.catalog)
    config_.catalog = std::make_shared<library::Catalog>(library::Catalog::bundled());
  if (auto ok = validate_games_dir(config_.games_dir); !ok) return ok.error();
  if (!config_.unpacker) config_.unpacker = std::make_shared<install::LibarchiveUnpacker>();
  // Repair interrupted installs before anything looks at the games dir.
  recovered_ = recover_games(config_.games_dir, *config_.catalog);
  // On a LAN a handshake takes milliseconds; a dial to an address where nobody answers must
  // end (and stop sending) soon.
  config_.transport.handshake_timeout =
      std::min(config_.transport.handshake_timeout, config_.limits.handshake_timeout);
  auto identity = transport::Identity::load_or_create(config_.state_dir);
  if (!identity) return identity.error();
  peer_id_ = (*identity)->peer_id();
  auto ep = transport::Endpoint::open(io_, config_.bind, config_.transport, *identity);
  if (!ep) return ep.error();
  endpoint_ = *ep;
  const auto& local = endpoint_->local_address();
  port_ = ntohs(local.storage.ss_family == AF_INET6
                    ? reinterpret_cast<const sockaddr_in6*>(&local.storage)->sin6_port
                    : reinterpret_cast<const sockaddr_in*>(&local.storage)->sin_port);

  std::weak_ptr<PeerRuntime> weak = weak_from_this();
  monitor_ = std::make_shared<LibraryMonitor>(
      io_.get_executor(), disk_.get_executor(), config_.games_dir, config_.catalog, config_.monitor,
      [weak](std::shared_ptr<const library::LocalLibrary> lib,
             const std::set<std::string>& changed) {
        auto self = weak.lock();
        if (!self) return;
        if (self->discovery_) self->discovery_->update_rev(self->monitor_->revision());
        self->emit(LocalLibraryChanged{std::move(lib), changed});
        self->emit_snapshot();
      },
      [weak](boost::system::error_code ec) {
        if (auto self = weak.lock()) self->emit(RuntimeFailure{"monitor", ec.message()});
      });
  GameServerConfig sc;
  sc.peer_id = peer_id_;
  sc.traffic = config_.traffic;
  server_ = std::make_shared<GameServer>(
      sc, io_.get_executor(), disk_.get_executor(),
      [weak] {
        auto self = weak.lock();
        return self ? self->monitor_->snapshot() : nullptr;
      },
      [weak] {
        auto self = weak.lock();
        return self ? self->monitor_->revision() : 0;
      });
  server_->set_partial_games([weak] {
    auto self = weak.lock();
    return self ? self->partial_games() : std::vector<std::shared_ptr<const PartialGame>>{};
  });
  server_->on_map_asked([weak](const std::string& client, const PartialGame& offer) {
    if (auto self = weak.lock(); self && !self->stopping_) self->asked_for_map(client, offer);
  });

  // Blocking, like the recovery above: the network thread is not running yet.
  std::vector<std::string> stored;
  std::string store_problem;
  if (config_.manual_store) {
    if (auto l = config_.manual_store->load()) {
      stored = std::move(*l);
    } else {
      store_problem = "cannot read the stored manual peers: " + l.error().message();
    }
  }

  work_.emplace(io_.get_executor());
  asio::post(io_, [self = shared_from_this(), stored = std::move(stored), store_problem] {
    for (auto& r : self->recovered_) self->emit(std::move(r));
    self->recovered_.clear();
    self->monitor_->start();
    if (!store_problem.empty()) self->emit(RuntimeFailure{"manual peers", store_problem});
    for (const auto& a : self->config_.manual_peers) self->add_manual(a, false);
    for (const auto& a : stored) self->add_manual(a, true);
    if (self->config_.discovery) {
      asio::co_spawn(self->io_,
                     self->supervise("discovery", [self] { return self->discovery_task(); }),
                     asio::detached);
    } else {
      self->emit_discovery_status("off");
    }
    asio::co_spawn(self->io_, self->supervise("server", [self] { return self->server_task(); }),
                   asio::detached);
    asio::co_spawn(self->io_, self->supervise("ping", [self] { return self->ping_task(); }),
                   asio::detached);
  });
  thread_ = std::thread([self = shared_from_this()] { self->io_.run(); });
  return {};
}

void PeerRuntime::stop() {
  if (!thread_.joinable()) return;
  std::promise<void> closed;
  auto done = closed.get_future();
  asio::post(io_, [self = shared_from_this(), &closed] {
    self->stopping_ = true;
    self->probe_timer_.cancel();
    self->discovery_wake_.notify();
    for (auto& [ticket, wake] : self->dial_waiters_) wake->notify();
    auto finish = [self, &closed] {
      self->monitor_->stop();
      self->endpoint_->close();
      // Give connections their closing period to deliver CONNECTION_CLOSE, then go.
      asio::co_spawn(
          self->io_,
          [self, &closed]() -> awaitable<void> {
            asio::steady_timer t(self->io_);
            for (int i = 0; i < 100 && self->endpoint_->connection_count() > 0; ++i) {
              t.expires_after(std::chrono::milliseconds(20));
              boost::system::error_code ec;
              co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
            }
            closed.set_value();
          },
          asio::detached);
    };
    if (self->discovery_) {
      self->discovery_->stop(finish);
    } else {
      finish();
    }
  });
  // A wedged discovery or connection must not hang the shutdown.
  done.wait_for(std::chrono::seconds(5));
  work_.reset();
  io_.stop();
  thread_.join();
  disk_.join();
}

awaitable<void> PeerRuntime::supervise(std::string name, std::function<awaitable<void>()> task) {
  auto backoff = std::chrono::milliseconds(500);
  while (!stopping_) {
    std::string why = "ended";
    try {
      co_await task();
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (stopping_) break;
    emit(RuntimeFailure{name, why + "; restarting in " + std::to_string(backoff.count()) + " ms"});
    asio::steady_timer t(io_, backoff);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(30'000));
  }
}

awaitable<void> PeerRuntime::server_task() {
  for (;;) {
    auto conn = co_await endpoint_->accept();
    if (!conn) co_return;
    // A peer that reached us proved its id: dials to it go before those to strangers.
    dials_.contacted_by((*conn)->peer_id());
    asio::co_spawn(io_, server_->serve(*conn), asio::detached);
  }
}

awaitable<void> PeerRuntime::ping_task() {
  asio::steady_timer t(io_);
  while (!stopping_) {
    const auto now = Clock::now();
    std::vector<std::string> silent;
    for (const PeerInfo* p : peers_.peers()) {
      auto [seen, fresh] = last_answer_.try_emplace(p->peer_id, now);
      if (now - seen->second >= config_.drop_after) {
        silent.push_back(p->peer_id);
        continue;
      }
      if (busy_.contains(p->peer_id)) continue;
      asio::co_spawn(io_, ping_one(p->peer_id), asio::detached);
    }
    for (const auto& id : silent) drop_silent(id);
    resolve_due_manual();
    t.expires_after(config_.ping_interval);
    boost::system::error_code ec;
    co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

awaitable<void> PeerRuntime::ping_one(std::string id) {
  busy_.insert(id);
  auto conn = co_await connect(id);
  boost::system::result<proto::Response> pong =
      conn ? co_await request(*conn, proto::Ping{}, config_.ping_timeout)
           : boost::system::result<proto::Response>(conn.error());
  busy_.erase(id);
  if (stopping_ || peers_.peer(id) == nullptr) co_return;
  if (pong && std::holds_alternative<proto::Pong>(*pong)) {
    failures_[id] = 0;
    note_answer(id);
    peers_.touch(id, Clock::now());
    PeerInfo info = *peers_.peer(id);
    info.library_rev = std::get<proto::Pong>(*pong).library_rev;
    info.last_seen = Clock::now();
    peers_.upsert_peer(info);
    // A source dropped for failing that answers again may be taken back.
    for (const auto& [game, download] : downloads_) download->source_answered(id);
    if (peers_.needs_refresh(id, Clock::now(), config_.limits.min_refresh_interval))
      co_await refresh(id);
    co_return;
  }
  ++failures_[id];
  auto seen = last_answer_.find(id);
  if (seen != last_answer_.end() && Clock::now() - seen->second >= config_.unreachable_after &&
      unreachable_.insert(id).second) {
    emit(PeerStateChanged{id, "unreachable"});
  }
}

void PeerRuntime::note_answer(const std::string& id) {
  last_answer_[id] = Clock::now();
  if (unreachable_.erase(id) != 0) emit(PeerStateChanged{id, "reachable"});
}

void PeerRuntime::drop_silent(const std::string& id) {
  // A new handshake decides whether it is back; the old connection may be to a process that
  // no longer exists.
  if (auto it = links_.find(id); it != links_.end()) {
    auto c = it->second.lock();
    links_.erase(it);
    if (c) c->close();
  }
  on_lost(id, "did not answer for " + std::to_string(config_.drop_after.count() / 1000) + " s");
  pump_dials();
}

awaitable<void> PeerRuntime::watch_link(std::string id,
                                        std::shared_ptr<transport::Connection> conn) {
  // The client side never accepts streams; a stream the peer opens anyway is dropped (reset).
  while (!stopping_) {
    auto s = co_await conn->accept_stream();
    if (!s) break;
  }
  if (stopping_) co_return;
  auto it = links_.find(id);
  // Closed by us (dropped, replaced) or by silence: liveness decides, not this.
  if (it == links_.end() || it->second.lock() != conn) co_return;
  if (conn->close_reason() != transport::errc::connection_closed) co_return;
  links_.erase(it);
  on_lost(id, "closed its connection");
  pump_dials();
}

void PeerRuntime::emit_discovery_status(std::string state) {
  DiscoveryStatus st{std::move(state), {}};
  if (discovery_) {
    auto s = discovery_->status();
    st.interfaces = std::move(s.interfaces);
    if (st.state == "running" && s.waiting_for_interface) st.state = "waiting_for_interface";
  }
  emit(std::move(st));
}

awaitable<void> PeerRuntime::discovery_task() {
  discovery_ = config_.discovery(io_.get_executor());
  emit_discovery_status("starting");
  std::weak_ptr<PeerRuntime> w = weak_from_this();
  PeerDiscovery::Handlers h;
  h.seen = [w](const DiscoveredPeer& p) {
    if (auto s = w.lock()) s->on_seen(p, true);
  };
  h.lost = [w](const std::string& id) {
    if (auto s = w.lock()) s->on_unannounced(id);
  };
  h.changed = [w] {
    if (auto s = w.lock(); s && !s->stopping_) s->emit_discovery_status("running");
  };
  auto ok = discovery_->start(peer_id_, config_.name, port_, monitor_->revision(), std::move(h));
  if (!ok) {
    // Made anew on the next attempt; this one closes whatever it opened.
    auto failed = std::move(discovery_);
    failed->stop([] {});
    emit_discovery_status("restarting");
    throw std::runtime_error("mDNS did not start: " + ok.error().message());
  }
  emit_discovery_status("running");
  // Runs until the runtime stops (stop() says goodbye through discovery_).
  while (!stopping_) co_await discovery_wake_.wait();
}

awaitable<void> PeerRuntime::refresh(std::string id) {
  const PeerInfo* p = peers_.peer(id);
  if (p == nullptr) co_return;
  const std::uint64_t rev = p->library_rev;
  peers_.note_refresh(id, Clock::now());  // counts whether it works or not
  auto permit = co_await refresh_gate_.acquire();
  if (stopping_ || peers_.peer(id) == nullptr) co_return;
  auto conn = co_await connect(id);
  if (!conn) co_return;
  auto games = co_await request(*conn, proto::ListGames{}, config_.request_timeout);
  permit = {};
  if (peers_.peer(id) == nullptr) co_return;
  if (!games) {
    emit(RuntimeFailure{"peer " + id.substr(0, 8),
                        "its game list was refused (" + games.error().message() +
                            "); asking again in " +
                            std::to_string(config_.limits.min_refresh_interval.count() / 1000) +
                            " s at the earliest"});
    co_return;
  }
  if (!std::holds_alternative<proto::Games>(*games)) co_return;
  note_answer(id);
  auto list = std::move(std::get<proto::Games>(*games).games);
  // The library view shows catalog games only; nothing else a peer lists is kept.
  std::erase_if(list,
                [&](const proto::GameSummary& g) { return !config_.catalog->contains(g.id); });
  peers_.set_games(id, std::move(list), rev);
  emit_snapshot();
  offer_to_downloads(id);
}

void PeerRuntime::on_lost(const std::string& id, const std::string& reason) {
  if (!peers_.remove_peer(id)) return;
  dials_.set_verified(id, false);
  failures_.erase(id);
  last_answer_.erase(id);
  unreachable_.erase(id);
  // A manual peer is dialled by its address again (it may come back with another id).
  for (auto& [key, m] : manual_) {
    if (m.peer_id == id) dials_.set_verified(m.pseudo, false);
  }
  withdraw_from_downloads(id);
  emit(PeerLeft{id, reason});
  emit(PeerCount{peers_.peer_count()});
  emit_snapshot();
  unpark();
}

awaitable<void> PeerRuntime::get_game(std::string id, bool from_peers_only) {
  if (!config_.catalog->contains(id)) {
    emit(GetGameFailed{id, "'" + id + "' is not a catalog game"});
    co_return;
  }
  const auto latest = peers_.latest_version(id);
  auto lib = monitor_->snapshot();
  const library::LocalGame* local = lib ? lib->find(id) : nullptr;
  if (!from_peers_only && local && local->manifest &&
      (!latest || library::natural_compare(local->version, *latest) >= 0)) {
    emit(GotGameFiles{id, *local->manifest,
                      latest ? peers_.peers_with(id, *latest) : std::vector<std::string>{}});
    co_return;
  }
  if (!latest) {
    emit(GetGameFailed{id, "no peer offers '" + id + "'"});
    co_return;
  }
  std::string why;
  auto merged = co_await fetch_manifest(id, why);
  if (!merged) {
    emit(GetGameFailed{id, why});
    co_return;
  }
  emit(GotGameFiles{id, merged->manifest, merged->agreeing});
}

awaitable<std::optional<MergedManifest>> PeerRuntime::fetch_manifest(
    std::string id, std::string& why, std::optional<std::string> version) {
  const auto latest = version ? version : peers_.latest_version(id);
  if (!latest) {
    why = "no peer offers '" + id + "'";
    co_return std::nullopt;
  }
  const auto sources = peers_.peers_with(id, *latest);
  // One manifest is held at a time (plus the one being read): the vote keeps digests.
  ManifestVote vote;
  std::string last_error = "no answer";
  std::map<std::string, proto::Sha256> digests;
  std::size_t skipped = 0;
  for (const auto& peer : sources) {
    // A peer whose manifest of this version lost a vote lately is not asked again.
    if (dissent_.dissented(peer, id, *latest, Clock::now())) {
      ++skipped;
      continue;
    }
    auto permit = co_await manifest_gate_.acquire();
    if (stopping_) break;
    auto conn = co_await connect(peer);
    if (!conn) {
      last_error = conn.error().message();
      continue;
    }
    auto r = co_await request(*conn, proto::GetGame{id}, config_.request_timeout);
    if (!r) {
      last_error = r.error().message();
    } else if (auto* g = std::get_if<proto::Game>(&*r); g && g->version == *latest) {
      auto game = std::make_shared<proto::Game>(std::move(*g));
      const auto digest = co_await asio::co_spawn(
          disk_, [game]() -> awaitable<proto::Sha256> { co_return manifest_digest(*game); },
          use_awaitable);
      digests[peer] = digest;
      vote.add(peer, digest, std::move(*game));
    } else if (const auto* e = std::get_if<proto::Error>(&*r)) {
      last_error = e->message;
    }
  }
  auto merged = vote.result();
  if (!merged) {
    why = sources.empty() ? "no peer has version " + *latest + " of '" + id + "' any more"
                          : "no peer sent the manifest of version " + *latest + " of '" + id +
                                "': " + last_error;
    if (vote.size() == 0 && skipped > 0)
      why = "every peer that offers version " + *latest + " of '" + id +
            "' sent a manifest the others disagreed with lately";
    co_return std::nullopt;
  }
  const auto now = Clock::now();
  dissent_.agreed(id, *latest, digests.at(merged->agreeing.front()));
  for (const auto& peer : merged->dissenters)
    dissent_.remember(peer, id, *latest, digests.at(peer), now);
  if (!merged->dissenters.empty()) {
    ManifestSplit split{*latest, merged->groups, merged->agreeing.size(),
                        merged->dissenters.size()};
    splits_[id] = split;
    emit(ManifestDisagreement{id, std::move(split), merged->agreeing, merged->dissenters});
    emit_snapshot();
  } else if (auto it = splits_.find(id);
             skipped == 0 && it != splits_.end() && it->second.version == *latest) {
    splits_.erase(it);  // they agree now
    emit_snapshot();
  }
  co_return merged;
}

void PeerRuntime::on_command(PeerCommand c, DecisionFn decided) {
  if (stopping_) return;
  std::visit(
      [&](auto& cmd) {
        using T = std::decay_t<decltype(cmd)>;
        [[maybe_unused]] auto spawn = [&](awaitable<void> task) {
          asio::co_spawn(io_, std::move(task), asio::detached);
        };
        if constexpr (std::is_same_v<T, ListGames>) {
          emit_snapshot(true);
        } else if constexpr (std::is_same_v<T, GetGame>) {
          spawn(get_game(cmd.id, false));
        } else if constexpr (std::is_same_v<T, FetchLatestFromPeers>) {
          spawn(get_game(cmd.id, true));
        } else if constexpr (std::is_same_v<T, SetGameDir>) {
          spawn(change_game_dir(cmd.dir, std::move(decided)));
          return;
        } else if constexpr (std::is_same_v<T, GetPeerCount>) {
          emit(PeerCount{peers_.peer_count()});
        } else if constexpr (std::is_same_v<T, InstallGame>) {
          spawn(run_operation(cmd.id, OperationKind::install, std::move(decided), false));
          return;
        } else if constexpr (std::is_same_v<T, UninstallGame>) {
          spawn(run_operation(cmd.id, OperationKind::uninstall, std::move(decided), false));
          return;
        } else if constexpr (std::is_same_v<T, RemoveDownloadedGame>) {
          spawn(run_operation(cmd.id, OperationKind::remove, std::move(decided), false));
          return;
        } else if constexpr (std::is_same_v<T, DownloadGameFiles>) {
          spawn(download(cmd.id, OperationKind::download, std::move(decided)));
          return;
        } else if constexpr (std::is_same_v<T, VerifyGame>) {
          spawn(download(cmd.id, OperationKind::verify, std::move(decided)));
          return;
        } else if constexpr (std::is_same_v<T, AddManualPeer>) {
          add_manual(cmd.address, true);
        } else if constexpr (std::is_same_v<T, RemoveManualPeer>) {
          remove_manual(cmd.address);
        } else if constexpr (std::is_same_v<T, CancelOperation> ||
                             std::is_same_v<T, CancelDownload>) {
          auto it = operations_.find(cmd.id);
          if (it == operations_.end()) {
            if (decided)
              decided(CommandDecision{false, "refused", "nothing is running on '" + cmd.id + "'"});
            return;
          }
          it->second.stop.request_stop();
        }
        if (decided) decided(CommandDecision{});
      },
      c);
}

// ---- handle -----------------------------------------------------------------------------

PeerRuntimeHandle::PeerRuntimeHandle(std::shared_ptr<PeerRuntime> rt) : rt_(std::move(rt)) {}
PeerRuntimeHandle::~PeerRuntimeHandle() {
  stop();
}
void PeerRuntimeHandle::send(PeerCommand command, DecisionFn decided) {
  rt_->post(std::move(command), std::move(decided));
}
void PeerRuntimeHandle::stop() {
  rt_->stop();
}
const std::string& PeerRuntimeHandle::peer_id() const {
  return rt_->peer_id_;
}
std::uint16_t PeerRuntimeHandle::port() const {
  return rt_->port_;
}
void PeerRuntimeHandle::add_peer(DiscoveredPeer peer) {
  rt_->add_peer(std::move(peer));
}

boost::system::result<std::unique_ptr<PeerRuntimeHandle>> start_peer(PeerConfig config,
                                                                     EventSink sink) {
  auto rt = std::make_shared<PeerRuntime>(std::move(config), std::move(sink));
  if (auto ok = rt->start(); !ok) return ok.error();
  return std::make_unique<PeerRuntimeHandle>(std::move(rt));
}

}  // namespace lanspread::runtime

namespace lanspread::runtime {
boost::asio::any_io_executor PeerRuntimeHandle::executor() const {
  return rt_->executor();
}
boost::asio::any_io_executor PeerRuntimeHandle::disk_executor() const {
  return rt_->disk_executor();
}
}  // namespace lanspread::runtime
