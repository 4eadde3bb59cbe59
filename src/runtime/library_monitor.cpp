#include "runtime/library_monitor.hpp"

#include "proto/validate.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace lanspread::runtime {
namespace asio = boost::asio;
namespace {

const std::string kGamesDirTag = "\x01games-dir";

bool same_content(const library::LocalGame& a, const library::LocalGame& b) {
  return a.summary() == b.summary() && a.manifest == b.manifest && a.problems == b.problems;
}

}  // namespace

LibraryMonitor::LibraryMonitor(asio::any_io_executor net, asio::any_io_executor disk,
                               std::filesystem::path games_dir,
                               std::shared_ptr<const library::Catalog> catalog,
                               MonitorSettings settings, OnChange on_change, OnError on_error)
    : net_(net),
      disk_(std::move(disk)),
      games_dir_(std::move(games_dir)),
      catalog_(std::move(catalog)),
      settings_(std::move(settings)),
      on_change_(std::move(on_change)),
      on_error_(std::move(on_error)),
      debounce_(net),
      fallback_(net) {}

void LibraryMonitor::start() {
  stopped_ = false;
  std::weak_ptr<LibraryMonitor> weak = weak_from_this();
  watcher_ = make_inotify_watcher(net_, [weak](const std::string& tag, const std::string& name) {
    if (auto self = weak.lock()) self->on_fs_event(tag, name);
  });
  full_pending_ = true;
  schedule();
  arm_fallback();
}

void LibraryMonitor::stop() {
  stopped_ = true;
  debounce_.cancel();
  fallback_.cancel();
  if (watcher_) watcher_->unwatch_all();
  watcher_.reset();
}

void LibraryMonitor::set_games_dir(std::filesystem::path dir) {
  games_dir_ = std::move(dir);
  ++generation_;
  dirty_.clear();
  full_pending_ = true;
  if (watcher_) watcher_->unwatch_all();
  schedule();
}

void LibraryMonitor::hold(const std::string& id) {
  held_.insert(id);
}

void LibraryMonitor::release(const std::string& id, bool rescan_now) {
  held_.erase(id);
  if (rescan_now) rescan(id);
}

void LibraryMonitor::update(const std::string& id, std::optional<library::LocalGame> game) {
  std::vector<std::pair<std::string, std::optional<library::LocalGame>>> one;
  one.emplace_back(id, std::move(game));
  apply(std::move(one));
}

void LibraryMonitor::rescan(const std::string& id) {
  dirty_.insert(id);
  schedule();
}

void LibraryMonitor::on_fs_event(const std::string& tag, const std::string& name) {
  if (stopped_) return;
  if (tag.empty()) {
    full_pending_ = true;  // the kernel dropped events
  } else if (tag == kGamesDirTag) {
    if (name.empty()) {
      full_pending_ = true;  // the games dir itself moved or vanished
    } else if (catalog_->contains(name)) {
      dirty_.insert(name);  // a root appeared, vanished or was renamed
    } else {
      return;
    }
  } else {
    // Inside a root: our own bookkeeping files never count as a change (other spellings of
    // reserved names do: the scan reports them as not shared).
    if (!name.empty() && proto::is_own_name(name)) return;
    dirty_.insert(tag);
  }
  schedule();
}

void LibraryMonitor::schedule() {
  if (stopped_) return;
  debounce_.expires_after(settings_.debounce);
  debounce_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->run_pending();
  });
}

void LibraryMonitor::arm_fallback() {
  fallback_.expires_after(settings_.fallback_scan);
  fallback_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec) return;
    if (auto self = weak.lock()) {
      self->full_pending_ = true;
      self->schedule();
      self->arm_fallback();
    }
  });
}

void LibraryMonitor::run_pending() {
  if (stopped_ || scanning_) return;  // the running scan reschedules when it is done
  if (full_pending_) {
    full_scan();
    return;
  }
  std::vector<std::string> ids;
  for (const auto& id : dirty_)
    if (!held_.contains(id)) ids.push_back(id);
  if (ids.empty()) return;
  for (const auto& id : ids) dirty_.erase(id);
  scanning_ = true;
  ++scans_;
  const auto dir = games_dir_;
  const auto options = settings_.scan;
  const auto gen = generation_;
  asio::post(disk_, [self = shared_from_this(), dir, options, ids, gen] {
    std::vector<std::pair<std::string, std::optional<library::LocalGame>>> results;
    for (const auto& id : ids) {
      auto r = library::scan_game(dir, id, options);
      results.emplace_back(id, r ? std::move(*r) : std::nullopt);
    }
    asio::post(self->net_, [self, results = std::move(results), gen]() mutable {
      self->scanning_ = false;
      if (gen == self->generation_) self->apply(std::move(results));
      if (!self->dirty_.empty() || self->full_pending_) self->schedule();
    });
  });
}

void LibraryMonitor::full_scan() {
  full_pending_ = false;
  scanning_ = true;
  ++scans_;
  const auto dir = games_dir_;
  const auto options = settings_.scan;
  const auto catalog = catalog_;
  const auto gen = generation_;
  asio::post(disk_, [self = shared_from_this(), dir, options, catalog, gen] {
    auto lib = library::scan_local_library(dir, *catalog, options);
    asio::post(self->net_, [self, lib = std::move(lib), gen]() mutable {
      self->scanning_ = false;
      if (gen != self->generation_) {
        self->schedule();
        return;
      }
      if (!lib) {
        if (self->on_error_) self->on_error_(lib.error());
      } else {
        std::vector<std::pair<std::string, std::optional<library::LocalGame>>> results;
        std::set<std::string> seen;
        for (auto& g : lib->games) {
          seen.insert(g.id);
          results.emplace_back(g.id, std::move(g));
        }
        if (self->snapshot_) {
          for (const auto& g : self->snapshot_->games)
            if (!seen.contains(g.id)) results.emplace_back(g.id, std::nullopt);
        }
        // A full scan does not wait for held ids: their state stays as it was.
        std::erase_if(results, [&](const auto& r) {
          return self->held_.contains(r.first) && self->snapshot_;
        });
        auto fresh = std::make_shared<library::LocalLibrary>();
        fresh->game_dir = lib->game_dir;
        fresh->ignored = std::move(lib->ignored);
        if (self->snapshot_) fresh->games = self->snapshot_->games;
        self->snapshot_ = std::move(fresh);
        self->apply(std::move(results));
        self->rewatch();
      }
      if (!self->dirty_.empty() || self->full_pending_) self->schedule();
    });
  });
}

void LibraryMonitor::apply(
    std::vector<std::pair<std::string, std::optional<library::LocalGame>>> results) {
  auto next = std::make_shared<library::LocalLibrary>();
  if (snapshot_) {
    *next = *snapshot_;
  } else {
    next->game_dir = games_dir_;
  }
  std::set<std::string> changed;
  for (auto& [id, game] : results) {
    auto it = std::find_if(next->games.begin(), next->games.end(),
                           [&](const library::LocalGame& g) { return g.id == id; });
    if (!game) {
      if (it != next->games.end()) {
        next->games.erase(it);
        changed.insert(id);
        if (watcher_) watcher_->unwatch(id);
      }
      continue;
    }
    if (it == next->games.end()) {
      next->games.push_back(std::move(*game));
      changed.insert(id);
      if (watcher_) watcher_->watch(games_dir_ / id, id);
    } else if (!same_content(*it, *game)) {
      *it = std::move(*game);
      changed.insert(id);
    }
  }
  std::sort(next->games.begin(), next->games.end(),
            [](const auto& a, const auto& b) { return a.id < b.id; });
  const bool first = !published_;
  published_ = true;
  snapshot_ = std::move(next);
  if (!changed.empty() || first) {
    ++revision_;
    if (on_change_) on_change_(snapshot_, changed);
  }
}

void LibraryMonitor::rewatch() {
  if (!watcher_) return;
  watcher_->unwatch_all();
  if (!watcher_->watch(games_dir_, kGamesDirTag) && on_error_) {
    on_error_(make_error_code(boost::system::errc::no_such_file_or_directory));
  }
  for (const auto& g : snapshot_->games) watcher_->watch(games_dir_ / g.id, g.id);
}

}  // namespace lanspread::runtime
