// Keeps the local library snapshot current: watches the games dir and each game root
// (non-recursively), debounces changes, rescans only the ids that changed on the disk pool,
// holds rescans of ids with an active operation until it ends, and runs a full scan every
// few minutes as a fallback for missed events. Lives on the network thread.
#pragma once

#include "library/scan.hpp"
#include "runtime/fs_watcher.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <set>

namespace lanspread::runtime {

struct MonitorSettings {
  std::chrono::milliseconds debounce{300};
  std::chrono::milliseconds fallback_scan{300'000};
  library::ScanOptions scan;
};

class LibraryMonitor : public std::enable_shared_from_this<LibraryMonitor> {
 public:
  // Called on the network thread after the snapshot changed, with the ids that changed.
  using OnChange = std::function<void(std::shared_ptr<const library::LocalLibrary>,
                                      const std::set<std::string>& changed)>;
  // Called when a scan fails (e.g. the games dir vanished), with the error.
  using OnError = std::function<void(boost::system::error_code)>;

  LibraryMonitor(boost::asio::any_io_executor net, boost::asio::any_io_executor disk,
                 std::filesystem::path games_dir, std::shared_ptr<const library::Catalog> catalog,
                 MonitorSettings settings, OnChange on_change, OnError on_error = {});

  // Full scan, then watching. The first snapshot arrives through OnChange.
  void start();
  void stop();
  // Switches to another games dir: full rescan, watches moved.
  void set_games_dir(std::filesystem::path dir);

  // An operation owns `id`: changes are recorded but not rescanned until release().
  void hold(const std::string& id);
  void release(const std::string& id, bool rescan = true);
  // Installs a fresh scan of one root (an operation rescanned it as its last step), so the
  // snapshot is current the moment the operation reports that it finished.
  void update(const std::string& id, std::optional<library::LocalGame> game);
  const MonitorSettings& settings() const { return settings_; }
  // Asks for a rescan of `id` (e.g. after an operation wrote into its root).
  void rescan(const std::string& id);

  std::shared_ptr<const library::LocalLibrary> snapshot() const { return snapshot_; }
  // Changes whenever the library content that peers see changes.
  std::uint64_t revision() const { return revision_; }
  // Moves the revision on for a change the scan does not see (what the game server offers
  // beside the scanned library), so peers refetch the game list.
  void bump_revision() { ++revision_; }
  std::uint64_t scans() const { return scans_; }

 private:
  void on_fs_event(const std::string& tag, const std::string& name);
  void schedule();
  void run_pending();
  void full_scan();
  void apply(std::vector<std::pair<std::string, std::optional<library::LocalGame>>> results);
  void rewatch();
  void arm_fallback();

  boost::asio::any_io_executor net_;
  boost::asio::any_io_executor disk_;
  std::filesystem::path games_dir_;
  std::shared_ptr<const library::Catalog> catalog_;
  MonitorSettings settings_;
  OnChange on_change_;
  OnError on_error_;
  std::unique_ptr<FsWatcher> watcher_;
  boost::asio::steady_timer debounce_;
  boost::asio::steady_timer fallback_;
  std::shared_ptr<const library::LocalLibrary> snapshot_;
  std::set<std::string> dirty_;
  std::set<std::string> held_;
  bool full_pending_ = false;
  bool scanning_ = false;
  bool stopped_ = true;
  bool published_ = false;
  std::uint64_t generation_ = 0;  // bumps on set_games_dir: late results of the old dir drop
  std::uint64_t revision_ = 0;
  std::uint64_t scans_ = 0;
};

}  // namespace lanspread::runtime
