#include "runtime/peer_runtime_impl.hpp"

#include "runtime/chunk_map_requests.hpp"
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

awaitable<void> PeerRuntime::download(std::string id, OperationKind kind) {
  using namespace asio::experimental::awaitable_operators;
  auto refuse = [&](std::string reason, std::string code = {}) {
    emit(OperationRefused{id, std::move(reason), std::move(code)});
  };
  if (!config_.catalog->contains(id)) co_return refuse("'" + id + "' is not a catalog game");
  if (operations_.contains(id)) {
    co_return refuse("an operation is already running on '" + id + "'; wait for it or cancel it");
  }
  // A download fetches the peers' latest version; a verify, the version on disk.
  const auto lib = monitor_->snapshot();
  const library::LocalGame* local = lib ? lib->find(id) : nullptr;
  const bool downloaded = local != nullptr && local->downloaded;
  const std::string local_version = local != nullptr ? local->version : std::string{};
  std::optional<Refusal> refusal;
  std::optional<std::string> version;  // none: the latest
  if (kind == OperationKind::verify) {
    refusal = check_verify(id, downloaded, local_version,
                           downloaded && !peers_.peers_with(id, local_version).empty());
    version = local_version;
  } else {
    refusal = check_download(id, downloaded, local_version, peers_.latest_version(id));
  }
  if (refusal) co_return refuse(std::move(refusal->message), std::move(refusal->code));
  // Claimed before the first await, so a second command cannot start the same download.
  RunningOperation& op = operations_[id];
  op.state = ActiveOperation{kind, "resolving", 0, 0, 0, 0};
  monitor_->hold(id);
  emit(OperationBegin{id, kind});
  emit_operations();
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
    finish_operation(id, OperationKind::download, make_error_code(errc::not_enough_space),
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
  job.offer_changed = [weak] {
    if (auto self = weak.lock()) self->announce_partial_change();
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
  // The reference auto-installs a download; a verify repairs the payload only.
  if (!result.error && kind == OperationKind::download) start_operation(id, OperationKind::install);
}

void PeerRuntime::offer_to_downloads(const std::string& peer) {
  for (const auto& [game, download] : downloads_) {
    const auto& manifest = download->manifest();
    const auto holders = peers_.peers_with(game, manifest.version);
    const bool offers = std::find(holders.begin(), holders.end(), peer) != holders.end();
    if (!offers) {
      const auto partial = peers_.partial_peers(game, manifest.version);
      if (std::find(partial.begin(), partial.end(), peer) != partial.end()) {
        // Downloading the same version: a source of what it holds, if its manifest is ours.
        if (!download->has_source(peer)) offer_partial(peer, game, download);
        continue;
      }
      download->source_left(peer);  // it moved on to another version, or dropped the game
      continue;
    }
    // A partial source that now holds the whole version becomes a full one.
    if (download->has_source(peer) && !download->has_partial_source(peer)) {
      download->source_answered(peer);
      continue;
    }
    // Same version is not enough: it must serve exactly the files being fetched.
    asio::co_spawn(
        io_,
        [self = shared_from_this(), peer, game = game,
         weak = std::weak_ptr<Download>(download)]() -> awaitable<void> {
          auto conn = co_await self->connect(peer);
          if (!conn) co_return;
          auto answer =
              co_await request(*conn, proto::GetGame{game}, self->config_.request_timeout);
          auto running = weak.lock();
          if (!running || !answer) co_return;
          if (const auto* g = std::get_if<proto::Game>(&*answer); g && *g == running->manifest())
            running->source_joined(peer);
        },
        asio::detached);
  }
}

void PeerRuntime::offer_partial(const std::string& peer, const std::string& game,
                                std::shared_ptr<Download> download) {
  asio::co_spawn(
      io_,
      [self = shared_from_this(), peer, game,
       weak = std::weak_ptr<Download>(download)]() -> awaitable<void> {
        auto conn = co_await self->connect(peer);
        auto running = weak.lock();
        if (!conn || !running) co_return;
        // The map is asked by our manifest's digest: a peer downloading other files of the
        // same version answers not_found and is not a source.
        const proto::Game manifest = running->manifest();
        const proto::Sha256 digest = running->digest();
        running.reset();
        auto map =
            co_await ask_chunk_map(*conn, game, manifest, digest, self->config_.request_timeout);
        running = weak.lock();
        if (running && map) running->partial_source_joined(peer, *map);
      },
      asio::detached);
}

std::vector<std::shared_ptr<const PartialGame>> PeerRuntime::partial_games() const {
  std::vector<std::shared_ptr<const PartialGame>> out;
  for (const auto& [id, d] : downloads_)
    if (auto p = d->partial()) out.push_back(std::move(p));
  const auto lib = monitor_ ? monitor_->snapshot() : nullptr;
  for (const auto& [id, p] : completed_) {
    // Only while the library still holds exactly that version.
    const library::LocalGame* g = lib ? lib->find(id) : nullptr;
    if (g != nullptr && g->downloaded && g->version == p->manifest->version) out.push_back(p);
  }
  return out;
}

void PeerRuntime::announce_partial_change() {
  monitor_->bump_revision();
  if (discovery_) discovery_->update_rev(monitor_->revision());
}

void PeerRuntime::withdraw_from_downloads(const std::string& peer) {
  for (const auto& [game, download] : downloads_) download->source_left(peer);
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

awaitable<void> PeerRuntime::set_game_dir(std::filesystem::path dir) {
  const std::string busy = "operations are running; wait for them or cancel them";
  if (switching_dir_) {
    emit(GameDirRejected{dir, "another games dir switch is running; wait for it"});
    co_return;
  }
  if (!operations_.empty()) {
    emit(GameDirRejected{dir, busy});
    co_return;
  }
  // Checking the dir and repairing its interrupted operations touch the disk (a slow or hung
  // file system, thousands of games): the disk pool does it, and nothing looks at the new
  // dir before it is done. Meanwhile the old dir stays in use.
  switching_dir_ = true;
  using Checked = boost::system::result<std::vector<GameRecovered>>;
  Checked checked = make_error_code(errc::games_dir_invalid);
  try {
    checked = co_await asio::co_spawn(
        disk_,
        [dir, catalog = config_.catalog]() -> awaitable<Checked> {
          if (auto ok = validate_games_dir(dir); !ok) co_return ok.error();
          co_return recover_games(dir, *catalog);
        },
        use_awaitable);
  } catch (const std::exception& e) {
    switching_dir_ = false;
    emit(GameDirRejected{dir, e.what()});
    co_return;
  }
  switching_dir_ = false;
  if (stopping_) co_return;
  if (!checked) {
    emit(GameDirRejected{dir, checked.error().message()});
    co_return;
  }
  for (auto& r : *checked) emit(std::move(r));
  if (!operations_.empty()) {  // one started on the old dir meanwhile
    emit(GameDirRejected{dir, busy});
    co_return;
  }
  config_.games_dir = dir;
  monitor_->set_games_dir(dir);
  emit(GameDirChanged{dir});
}

void PeerRuntime::start_operation(const std::string& id, OperationKind requested) {
  auto refuse = [&](std::string reason) { emit(OperationRefused{id, std::move(reason)}); };
  if (!config_.catalog->contains(id)) return refuse("'" + id + "' is not a catalog game");
  if (operations_.contains(id)) {
    return refuse("an operation is already running on '" + id + "'; wait for it or cancel it");
  }
  const auto lib = monitor_->snapshot();
  const library::LocalGame* g = lib ? lib->find(id) : nullptr;
  OperationKind kind = requested;
  std::string version;
  switch (requested) {
    case OperationKind::install:
    case OperationKind::update:
      if (g == nullptr || !g->downloaded || g->version.empty()) {
        return refuse("'" + id + "' is not downloaded; download it first");
      }
      kind = g->installed ? OperationKind::update : OperationKind::install;
      version = g->version;
      break;
    case OperationKind::uninstall:
      if (g == nullptr || !g->installed) return refuse("'" + id + "' is not installed");
      break;
    case OperationKind::remove:
      if (g == nullptr || !g->downloaded) return refuse("'" + id + "' is not downloaded");
      if (g->installed) return refuse("installed games cannot be removed; uninstall first");
      break;
    case OperationKind::download:
    case OperationKind::verify:
      return refuse("downloads start with DownloadGameFiles, verifies with VerifyGame");
  }
  RunningOperation& op = operations_[id];
  op.state = ActiveOperation{kind, "starting", 0, 0};
  monitor_->hold(id);  // no rescan of a half-written root
  emit(OperationBegin{id, kind});
  emit_operations();

  std::weak_ptr<PeerRuntime> weak = weak_from_this();
  asio::post(disk_, [weak, id, kind, version, stop = op.stop.get_token(),
                     games_dir = config_.games_dir, unpacker = config_.unpacker,
                     catalog = config_.catalog, scan_options = monitor_->settings().scan,
                     net = io_.get_executor()] {
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
