#include "runtime/fs_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <array>
#include <map>

namespace lanspread::runtime {
namespace {

class InotifyWatcher final : public FsWatcher {
 public:
  InotifyWatcher(boost::asio::any_io_executor ex, Callback cb)
      : fd_(ex), callback_(std::move(cb)), alive_(std::make_shared<bool>(true)) {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd >= 0) {
      fd_.assign(fd);
      read_next();
    }
  }
  ~InotifyWatcher() override {
    *alive_ = false;
    boost::system::error_code ec;
    fd_.cancel(ec);
    fd_.close(ec);
  }

  bool watch(const std::filesystem::path& dir, const std::string& tag) override {
    if (!fd_.is_open()) return false;
    unwatch(tag);
    const int wd = ::inotify_add_watch(fd_.native_handle(), dir.c_str(),
                                       IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                           IN_CLOSE_WRITE | IN_ATTRIB | IN_DELETE_SELF |
                                           IN_MOVE_SELF | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0) return false;
    tags_[wd] = tag;
    wds_[tag] = wd;
    return true;
  }

  void unwatch(const std::string& tag) override {
    auto it = wds_.find(tag);
    if (it == wds_.end()) return;
    ::inotify_rm_watch(fd_.native_handle(), it->second);
    tags_.erase(it->second);
    wds_.erase(it);
  }

  void unwatch_all() override {
    while (!wds_.empty()) unwatch(wds_.begin()->first);
  }

 private:
  void read_next() {
    fd_.async_wait(boost::asio::posix::descriptor_base::wait_read,
                   [this, alive = alive_](const boost::system::error_code& ec) {
                     if (ec || !*alive) return;
                     drain();
                     if (*alive) read_next();
                   });
  }

  void drain() {
    alignas(inotify_event) std::array<char, 16 * 1024> buf;
    for (;;) {
      const ssize_t n = ::read(fd_.native_handle(), buf.data(), buf.size());
      if (n <= 0) return;
      for (ssize_t off = 0; off < n;) {
        const auto* e = reinterpret_cast<const inotify_event*>(buf.data() + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
        if (e->mask & IN_Q_OVERFLOW) {
          callback_(std::string(), std::string());  // events were lost: rescan everything
          continue;
        }
        auto it = tags_.find(e->wd);
        if (it == tags_.end()) continue;
        const std::string tag = it->second;
        if (e->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
          if (e->mask & IN_IGNORED) {
            wds_.erase(tag);
            tags_.erase(e->wd);
          }
          callback_(tag, std::string());
          continue;
        }
        callback_(tag, e->len ? std::string(e->name) : std::string());
      }
    }
  }

  boost::asio::posix::stream_descriptor fd_;
  Callback callback_;
  std::shared_ptr<bool> alive_;
  std::map<int, std::string> tags_;
  std::map<std::string, int> wds_;
};

}  // namespace

std::unique_ptr<FsWatcher> make_inotify_watcher(boost::asio::any_io_executor executor,
                                                FsWatcher::Callback callback) {
  return std::make_unique<InotifyWatcher>(std::move(executor), std::move(callback));
}

}  // namespace lanspread::runtime
