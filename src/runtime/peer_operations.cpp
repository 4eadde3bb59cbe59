#include "runtime/peer_runtime_impl.hpp"

#include "proto/layout.hpp"
#include "transfer/update_commit.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <random>

namespace lanspread::runtime {

namespace {

// Completes when `stop` is requested (or when the wait itself is cancelled).
awaitable<void> until_stopped(std::stop_token stop) {
  auto ex = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
  std::stop_callback on_stop(stop, [ex, timer] { asio::post(ex, [timer] { timer->cancel(); }); });
  boost::system::error_code ec;
  if (!stop.stop_requested()) co_await timer->async_wait(asio::redirect_error(use_awaitable, ec));
}

// "24.0 MiB": sizes in the reason of a refusal.
std::string mib(std::uint64_t bytes) {
  return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1024.0 * 1024.0));
}

struct SpaceNeeded {
  std::uint64_t need = 0;  // bytes the payload still lacks on disk
  std::uint64_t free = 0;  // available to this user in the games dir's file system
};

// What fetching `game` into `root` will write at least (each file's size less what a file at
// its path already holds on disk: its allocated blocks, since an interrupted download leaves
// its files pre-sized but sparse; a finished file needs nothing), against the free space.
// Blocking: disk pool. Symlinks are not followed (lstat).
boost::system::result<SpaceNeeded> space_needed(const std::filesystem::path& games_dir,
                                                const std::filesystem::path& root,
                                                const proto::Game& game) {
  SpaceNeeded s;
  struct statvfs vfs {};
  if (::statvfs(games_dir.c_str(), &vfs) != 0)
    return boost::system::error_code(errno, boost::system::system_category());
  s.free = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  for (const auto& f : game.files) {
    if (f.is_dir) continue;
    std::uint64_t have = 0;
    struct stat st {};
    if (::lstat((root / f.path).c_str(), &st) == 0 && S_ISREG(st.st_mode))
      have = std::min<std::uint64_t>({f.size, static_cast<std::uint64_t>(st.st_size),
                                      static_cast<std::uint64_t>(st.st_blocks) * 512});
    s.need += f.size - have;
  }
  return s;
}

}  // namespace

std::string PeerRuntime::busy_reason(const std::string& id) const {
  if (dir_changing_) return "the games dir is being changed; try again when it is done";
  if (operations_.contains(id) || claims_.contains(id))
    return "an operation is already running on '" + id + "'; wait for it or cancel it";
  return {};
}

void PeerRuntime::refuse(const std::string& id, const DecisionFn& decided, std::string code,
                         std::string reason) {
  emit(OperationRefused{id, reason, code});
  if (decided) decided(CommandDecision{false, std::move(code), std::move(reason)});
}

awaitable<std::optional<GameProcess>> PeerRuntime::game_process(std::string id) {
  co_return co_await asio::co_spawn(
      disk_,
      [local = config_.games_dir / id / std::string(proto::layout::kLocal),
       limits = config_.processes]() -> awaitable<std::optional<GameProcess>> {
        co_return find_game_process(local, limits);
      },
      use_awaitable);
}

namespace {
std::string running_reason(const std::string& id, std::string_view action, const GameProcess& p) {
  return "'" + id + "' is running (" + describe(p) + "); close it before you " +
         std::string(action) + " it";
}
}  // namespace

awaitable<void> PeerRuntime::download(std::string id, OperationKind kind, DecisionFn decided) {
  using namespace asio::experimental::awaitable_operators;
  if (!config_.catalog->contains(id))
    co_return refuse(id, decided, "refused", "'" + id + "' is not a catalog game");
  if (auto busy = busy_reason(id); !busy.empty()) co_return refuse(id, decided, "refused", busy);
  // A download fetches the peers' latest version; a verify, the version on disk.
  std::optional<std::string> version;  // none: the latest
  {
    const auto lib = monitor_->snapshot();
    const library::LocalGame* local = lib ? lib->find(id) : nullptr;
    const bool downloaded = local != nullptr && local->downloaded;
    const std::string local_version = local != nullptr ? local->version : std::string{};
    std::optional<Refusal> refusal;
    if (kind == OperationKind::verify) {
      refusal = check_verify(id, downloaded, local_version,
                             downloaded && !peers_.peers_with(id, local_version).empty());
      version = local_version;
    } else {
      refusal = check_download(id, downloaded, local_version, peers_.latest_version(id));
    }
    if (refusal)
      co_return refuse(id, decided, std::move(refusal->code), std::move(refusal->message));
    // An update of an installed game that runs would end by replacing files under it.
    if (kind == OperationKind::download && local != nullptr && local->installed) {
      claims_.insert(id);
      auto running = co_await game_process(id);
      claims_.erase(id);
      if (stopping_) co_return;
      if (running)
        co_return refuse(id, decided, "game_running", running_reason(id, "update", *running));
      if (auto busy = busy_reason(id); !busy.empty())
        co_return refuse(id, decided, "refused", busy);
    }
  }
  // Claimed before the next await, so a second command cannot start the same download.
  RunningOperation& op = operations_[id];
  op.state = ActiveOperation{kind, "resolving", 0, 0, 0, 0};
  monitor_->hold(id);
  emit(OperationBegin{id, kind});
  emit_operations();
  if (decided) decided(CommandDecision{});
  const std::stop_token stop = op.stop.get_token();
  // Asking peers for the manifest can wait on each of them: a cancel must not.
  std::string why;
  auto resolved = co_await (fetch_manifest(id, why, version) || until_stopped(stop));
  if (resolved.index() == 1) {
    finish_operation(id, kind, make_error_code(transfer::errc::cancelled), {});
    co_return;
  }
  auto& merged = std::get<0>(resolved);
  if (!merged) {
    finish_operation(id, kind, make_error_code(errc::no_sources), why);
    co_return;
  }
  // A game that cannot fit is refused before any per-chunk state exists or a byte is fetched
  // (a valid manifest may list a million chunks).
  const proto::Game* wanted = &merged->manifest;
  auto space = co_await asio::co_spawn(
      disk_,
      [dir = config_.games_dir, root = config_.games_dir / id,
       wanted]() -> awaitable<boost::system::result<SpaceNeeded>> {
        co_return space_needed(dir, root, *wanted);
      },
      use_awaitable);
  if (space && space->need > space->free) {
    finish_operation(id, kind, make_error_code(errc::not_enough_space),
                     fmt::format("'{}' does not fit: not enough space: needs {}, {} free in {}", id,
                                 mib(space->need), mib(space->free), config_.games_dir.string()));
    co_return;
  }
  DownloadJob job;
  job.id = id;
  job.manifest = merged->manifest;
  job.digest = co_await asio::co_spawn(
      disk_, [m = &job.manifest]() -> awaitable<proto::Sha256> { co_return manifest_digest(*m); },
      use_awaitable);
  job.sources = merged->agreeing;
  job.root = config_.games_dir / id;
  job.net = io_.get_executor();
  job.disk = disk_.get_executor();
  job.settings = config_.download;
  job.traffic = config_.traffic;
  // Each downloader starts on other chunks than its peers, so they have chunks to trade.
  if (job.settings.planner.seed == 0) job.settings.planner.seed = std::random_device{}() | 1u;
  std::weak_ptr<PeerRuntime> weak = weak_from_this();
  job.connect = [weak](std::string peer)
      -> awaitable<boost::system::result<std::shared_ptr<transport::Connection>>> {
    auto self = weak.lock();
    if (!self) co_return make_error_code(errc::shutting_down);
    co_return co_await self->connect(std::move(peer));
  };
  job.progress = [weak, id, kind](const transfer::DownloadProgress& p) {
    auto self = weak.lock();
    if (!self) return;
    auto it = self->operations_.find(id);
    if (it == self->operations_.end()) return;
    auto& s = it->second.state;
    const std::string phase = transfer::to_string(p.phase);
    const bool new_phase = s.phase != phase;
    s = ActiveOperation{
        kind,           phase,      p.done,        p.total,          p.bytes_per_second,
        p.active_peers, p.verified, p.eta_seconds, p.stalled_seconds};
    self->emit(OperationProgress{id, s});
    if (new_phase) self->emit_operations();
  };
  job.before_swap = [weak, id] {
    // The old version's files are about to be replaced: peers must not be served them now.
    auto self = weak.lock();
    const auto lib = self ? self->monitor_->snapshot() : nullptr;
    const library::LocalGame* g = lib ? lib->find(id) : nullptr;
    if (g == nullptr) return;
    library::LocalGame swapping = *g;
    swapping.downloaded = false;
    swapping.version.clear();
    swapping.manifest.reset();
    self->monitor_->update(id, std::move(swapping));
  };
  job.offer_changed = [weak, id] {
    if (auto self = weak.lock()) {
      self->announce_partial_change();
      self->probe_partials(id);
    }
  };
  job.stop = stop;
  auto download = std::make_shared<Download>(std::move(job));
  downloads_[id] = download;
  completed_.erase(id);
  // Swarming: peers that download the same version are sources of what they hold, and we of
  // what we hold once the local check is done (offer_changed).
  for (const auto& peer : peers_.partial_peers(id, download->manifest().version))
    offer_partial(peer, id, download);
  auto result = co_await download->run();
  downloads_.erase(id);
  if (!result.error) {
    // Peers that fetch this version from us as a partial source keep being served by digest.
    std::vector<std::filesystem::path> roots(download->manifest().files.size(),
                                             config_.games_dir / id);
    auto done = std::make_shared<PartialGame>(
        id, download->digest(), std::make_shared<const proto::Game>(download->manifest()),
        std::move(roots));
    for (std::uint64_t i = 0; i < done->verified.size(); ++i) done->verified.set(i);
    done->complete = true;
    completed_[id] = std::move(done);
  }
  announce_partial_change();
  // Rescan before reporting, so the library is current when the end is announced.
  auto rescanned = co_await asio::co_spawn(
      disk_,
      [dir = config_.games_dir, id,
       options = monitor_->settings().scan]() -> awaitable<std::optional<library::LocalGame>> {
        auto r = library::scan_game(dir, id, options);
        co_return r ? std::move(*r) : std::nullopt;
      },
      use_awaitable);
  monitor_->update(id, std::move(rescanned));
  if (!result.error) {
    last_download_ = result.report;
  }
  finish_operation(id, kind, result.error, result.reason);
  // The reference installs what it downloaded (a game that runs is waited for); a verify
  // repairs the payload only.
  if (!result.error && kind == OperationKind::download && !stopping_)
    co_await run_operation(id, OperationKind::install, {}, true);
}

// ---- install-side operations -------------------------------------------------------------

std::vector<GameRecovered> recover_games(const std::filesystem::path& dir,
                                         const library::Catalog& catalog) {
  std::vector<GameRecovered> out;
  // Payload updates first (their swap decides which version is on disk), then local/.
  for (auto& root : transfer::recover_updates(
           dir, [&catalog](std::string_view id) { return catalog.contains(id); })) {
    if (root.report && root.report->outcome == transfer::UpdateRecovery::Outcome::clean) continue;
    GameRecovered r;
    r.id = root.name;
    if (root.report) {
      const auto outcome = root.report->outcome;
      r.outcome = outcome == transfer::UpdateRecovery::Outcome::abandoned
                      ? "failed"
                      : std::string(transfer::to_string(outcome));
      r.notes = root.report->notes;
    } else {
      r.outcome = "failed";
      r.notes.push_back(root.detail + ": " + root.report.error().message());
    }
    out.push_back(std::move(r));
  }
  for (auto& root : install::recover_games_dir(
           dir, [&catalog](std::string_view id) { return catalog.contains(id); })) {
    if (root.report && root.report->outcome == install::RecoveryReport::Outcome::clean) continue;
    GameRecovered r;
    r.id = root.name;
    if (root.report) {
      r.outcome = std::string(install::to_string(root.report->outcome));
      r.notes = root.report->notes;
    } else {
      r.outcome = "failed";
      r.notes.push_back(root.report.error().message());
    }
    out.push_back(std::move(r));
  }
  return out;
}

awaitable<void> PeerRuntime::change_game_dir(std::filesystem::path dir, DecisionFn decided) {
  auto reject = [&](std::string code, std::string reason) {
    emit(GameDirRejected{dir, reason});
    if (decided) decided(CommandDecision{false, std::move(code), std::move(reason)});
  };
  auto running = [this] {
    std::vector<std::string> names;
    for (const auto& [id, op] : operations_)
      names.push_back(std::string(to_string(op.state.kind)) + " of '" + id + "'");
    for (const auto& id : claims_) names.push_back("an operation on '" + id + "'");
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
    return out;
  };
  if (dir_changing_) co_return reject("refused", "another games dir change is in progress");
  if (auto busy = running(); !busy.empty()) {
    co_return reject("refused",
                     "operations are running (" + busy + "); wait for them or cancel them");
  }
  // From here until the switch no operation starts (busy_reason), and nothing looks at the
  // new dir before its interrupted operations are repaired.
  dir_changing_ = true;
  struct Checked {
    boost::system::result<void> valid;
    std::vector<GameRecovered> recovered;
  };
  auto checked = co_await asio::co_spawn(
      disk_,
      [dir, catalog = config_.catalog]() -> awaitable<Checked> {
        Checked c{validate_games_dir(dir), {}};
        if (c.valid) c.recovered = recover_games(dir, *catalog);
        co_return c;
      },
      use_awaitable);
  dir_changing_ = false;
  if (stopping_) co_return;
  if (!checked.valid) co_return reject("games_dir_invalid", checked.valid.error().message());
  for (auto& r : checked.recovered) emit(std::move(r));
  config_.games_dir = dir;
  monitor_->set_games_dir(dir);
  emit(GameDirChanged{dir});
  if (decided) decided(CommandDecision{});
}

awaitable<void> PeerRuntime::run_operation(std::string id, OperationKind requested,
                                           DecisionFn decided, bool wait_for_game) {
  using namespace asio::experimental::awaitable_operators;
  if (!config_.catalog->contains(id))
    co_return refuse(id, decided, "refused", "'" + id + "' is not a catalog game");
  if (auto busy = busy_reason(id); !busy.empty()) co_return refuse(id, decided, "refused", busy);
  const auto lib = monitor_->snapshot();
  const library::LocalGame* g = lib ? lib->find(id) : nullptr;
  OperationKind kind = requested;
  std::string version;
  switch (requested) {
    case OperationKind::install:
    case OperationKind::update:
      if (g == nullptr || !g->downloaded || g->version.empty()) {
        co_return refuse(id, decided, "refused",
                         "'" + id + "' is not downloaded; download it first");
      }
      kind = g->installed ? OperationKind::update : OperationKind::install;
      version = g->version;
      break;
    case OperationKind::uninstall:
      if (g == nullptr || !g->installed)
        co_return refuse(id, decided, "refused", "'" + id + "' is not installed");
      break;
    case OperationKind::remove:
      if (g == nullptr || !g->downloaded)
        co_return refuse(id, decided, "refused", "'" + id + "' is not downloaded");
      if (g->installed) {
        co_return refuse(id, decided, "refused",
                         "installed games cannot be removed; uninstall first");
      }
      break;
    case OperationKind::download:
    case OperationKind::verify:
      co_return refuse(id, decided, "refused",
                       "downloads start with DownloadGameFiles, verifies with VerifyGame");
  }
  // These change or delete files a running game may have open.
  const bool touches_local = kind != OperationKind::install;
  if (touches_local && !wait_for_game) {
    claims_.insert(id);
    auto running = co_await game_process(id);
    claims_.erase(id);
    if (stopping_) co_return;
    if (running) {
      co_return refuse(id, decided, "game_running", running_reason(id, to_string(kind), *running));
    }
    if (auto busy = busy_reason(id); !busy.empty()) co_return refuse(id, decided, "refused", busy);
  }
  RunningOperation& op = operations_[id];
  op.state = ActiveOperation{kind, "starting", 0, 0};
  monitor_->hold(id);  // no rescan of a half-written root
  emit(OperationBegin{id, kind});
  emit_operations();
  if (decided) decided(CommandDecision{});
  const std::stop_token stop = op.stop.get_token();
  while (touches_local && wait_for_game) {
    auto running = co_await game_process(id);
    if (stopping_) co_return;
    auto it = operations_.find(id);
    if (it == operations_.end()) co_return;
    if (!running) {
      if (!it->second.state.waiting_for.empty()) {
        it->second.state.phase = "starting";
        it->second.state.waiting_for.clear();
        emit(OperationProgress{id, it->second.state});
        emit_operations();
      }
      break;
    }
    if (it->second.state.waiting_for != describe(*running)) {
      it->second.state.phase = "waiting_for_game";
      it->second.state.waiting_for = describe(*running);
      emit(OperationProgress{id, it->second.state});
      emit_operations();
    }
    asio::steady_timer pause(io_, config_.game_recheck_interval);
    boost::system::error_code ec;
    co_await (pause.async_wait(asio::redirect_error(use_awaitable, ec)) || until_stopped(stop));
    if (stop.stop_requested()) {
      finish_operation(id, kind, make_error_code(install::errc::cancelled), {});
      co_return;
    }
  }

  std::weak_ptr<PeerRuntime> weak = weak_from_this();
  asio::post(disk_, [weak, id, kind, version, stop, games_dir = config_.games_dir,
                     unpacker = config_.unpacker, catalog = config_.catalog,
                     scan_options = monitor_->settings().scan, net = io_.get_executor()] {
    install::OperationContext ctx;
    ctx.stop = stop;
    ctx.progress = [weak, id, net](const install::Progress& p) {
      asio::post(net, [weak, id, phase = std::string(p.phase), done = p.done, total = p.total] {
        if (auto self = weak.lock()) self->on_operation_progress(id, {phase, done, total});
      });
    };
    boost::system::error_code ec;
    const auto root = games_dir / id;
    if (kind == OperationKind::install || kind == OperationKind::update) {
      install::InstallOptions opts;
      opts.unpacker = unpacker.get();
      opts.version = version;
      auto r = install::install_game(root, opts, ctx);
      if (!r) ec = r.error();
    } else if (kind == OperationKind::uninstall) {
      auto r = install::uninstall_game(root, ctx);
      if (!r) ec = r.error();
    } else {
      install::RemoveGuards guards;
      guards.is_catalog_id = [catalog](std::string_view g) { return catalog->contains(g); };
      // The runtime lets one operation run per game, and this is it.
      guards.is_in_flight = [](std::string_view) { return false; };
      auto r = install::remove_downloaded_game(games_dir, id, guards, ctx);
      if (!r) ec = r.error();
    }
    // Rescan here, so the library is current when the operation reports its end (a front
    // end may act on the new state at once).
    auto rescanned = library::scan_game(games_dir, id, scan_options);
    std::optional<library::LocalGame> game;
    if (rescanned) game = std::move(*rescanned);
    asio::post(net, [weak, id, kind, ec, detail = ctx.detail, game = std::move(game)]() mutable {
      if (auto self = weak.lock()) {
        self->monitor_->update(id, std::move(game));
        self->finish_operation(id, kind, ec, detail);
      }
    });
  });
}

void PeerRuntime::on_operation_progress(const std::string& id, const install::Progress& p) {
  auto it = operations_.find(id);
  if (it == operations_.end()) return;
  ActiveOperation& s = it->second.state;
  const bool new_phase = s.phase != p.phase;
  s.phase = std::string(p.phase);
  s.done = p.done;
  s.total = p.total;
  // About 4 reports a second, plus every change of phase.
  const auto now = Clock::now();
  if (!new_phase && now - it->second.last_report < std::chrono::milliseconds(250)) return;
  it->second.last_report = now;
  emit(OperationProgress{id, s});
  if (new_phase) emit_operations();
}

void PeerRuntime::finish_operation(const std::string& id, OperationKind kind,
                                   boost::system::error_code ec, std::string detail) {
  operations_.erase(id);
  monitor_->release(id, false);  // the root was rescanned as the operation's last step
  if (!ec) {
    OperationFinished done{id, kind};
    if (kind == OperationKind::download || kind == OperationKind::verify) {
      done.bytes_fetched = last_download_.fetched;
      done.bytes_reused = last_download_.reused;
    }
    emit(std::move(done));
  } else if (ec == transfer::errc::cancelled || ec == install::errc::cancelled) {
    emit(OperationCancelled{id, kind});
  } else {
    // A download's detail is its whole reason (it names the cause and the game).
    const bool fetch = kind == OperationKind::download || kind == OperationKind::verify;
    std::string reason = fetch && !detail.empty() ? detail : ec.message();
    if (!fetch && !detail.empty()) reason += ": " + detail;
    emit(OperationFailed{id, kind, std::move(reason), true});
  }
  emit_operations();
}

void PeerRuntime::emit_operations() {
  ActiveOperations all;
  for (const auto& [id, op] : operations_) all.operations.emplace(id, op.state);
  emit(std::move(all));
}

}  // namespace lanspread::runtime
