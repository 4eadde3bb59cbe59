// Directory change notification behind a small interface, so another OS can plug in its own
// (ReadDirectoryChangesW, FSEvents). The Linux one is inotify on the network thread.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <string>

namespace lanspread::runtime {

class FsWatcher {
 public:
  // Called on the watcher's executor with the watched directory's tag and the name of the
  // entry that changed inside it (empty when the directory itself went away).
  using Callback = std::function<void(const std::string& tag, const std::string& name)>;
  virtual ~FsWatcher() = default;
  // Watches `dir` non-recursively. Returns false when it cannot (missing, limits).
  virtual bool watch(const std::filesystem::path& dir, const std::string& tag) = 0;
  virtual void unwatch(const std::string& tag) = 0;
  virtual void unwatch_all() = 0;
};

// inotify-backed watcher. Its fd is read through Asio on `executor`.
std::unique_ptr<FsWatcher> make_inotify_watcher(boost::asio::any_io_executor executor,
                                                FsWatcher::Callback callback);

}  // namespace lanspread::runtime
