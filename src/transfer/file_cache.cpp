#include "transfer/file_cache.hpp"

#include "sys/open_beneath.hpp"
#include "transfer/download_files.hpp"

#include <unistd.h>

#include <cerrno>

namespace lanspread::transfer {

FileCache::Lease::~Lease() {
  if (cache_ != nullptr) cache_->release(*path_);
}

FileCache::FileCache(std::filesystem::path root, std::size_t capacity)
    : root_(std::move(root)), capacity_(std::max<std::size_t>(capacity, 1)) {}

FileCache::~FileCache() {
  close_all();
}

result<FileCache::Lease> FileCache::acquire(const std::string& relative) {
  std::lock_guard lock(mutex_);
  auto it = open_.find(relative);
  if (it == open_.end()) {
    if (open_.size() >= capacity_ && !evict_one()) return errc::too_many_open_files;
    auto fd = open_for_write(root_, relative);
    if (!fd) return fd.error();
    lru_.push_front(relative);
    it = open_.emplace(relative, Entry{sys::UniqueFd(*fd), 0, lru_.begin()}).first;
    written_.insert(relative);
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  ++it->second.leases;
  // unordered_map keys keep their address until erased, and a leased entry is never erased.
  return Lease(this, &it->first, it->second.fd.get());
}

void FileCache::release(const std::string& path) {
  std::lock_guard lock(mutex_);
  if (auto it = open_.find(path); it != open_.end()) --it->second.leases;
}

bool FileCache::evict_one() {
  for (auto l = lru_.rbegin(); l != lru_.rend(); ++l) {
    auto it = open_.find(*l);
    if (it->second.leases > 0) continue;
    lru_.erase(std::next(l).base());
    open_.erase(it);
    return true;
  }
  return false;
}

result<void> FileCache::sync_all() {
  std::lock_guard lock(mutex_);
  result<void> out;
  if (written_.size() > kSyncEachUpTo) {
    // One fdatasync per file costs a journal commit each (milliseconds): for a game of
    // thousands of files, one syncfs of the games filesystem is far cheaper.
    auto dir = sys::open_dir(root_);
    if (!dir) {
      out = from_errno(dir.error().code);
    } else if (::syncfs(dir->get()) != 0) {
      out = from_errno(errno);
    }
  } else {
    for (const auto& path : written_) {
      sys::UniqueFd reopened;
      int fd = -1;
      if (auto it = open_.find(path); it != open_.end()) {
        fd = it->second.fd.get();
      } else {
        auto opened = open_for_write(root_, path);
        if (!opened) {
          if (out) out = opened.error();
          continue;
        }
        reopened.reset(*opened);
        fd = reopened.get();
      }
      if (::fdatasync(fd) != 0 && out) out = from_errno(errno);
    }
    // The files' names too: every directory on the way to one (prepare_files may have
    // created the file, or any of the directories) is synced once; the root's entries
    // (version.ini, the top directories) are synced by the commit.
    const std::set<std::string> dirs = directories_of(written_);
    if (!dirs.empty()) {
      auto root = sys::open_dir(root_);
      if (!root && out) out = from_errno(root.error().code);
      for (const auto& d : root ? dirs : std::set<std::string>{}) {
        auto dir = sys::open_dir_beneath(root->get(), d, false, root_.native());
        if (dir && ::fsync(dir->get()) != 0 && out) out = from_errno(errno);
      }
    }
  }
  open_.clear();
  lru_.clear();
  return out;
}

std::set<std::string> directories_of(const std::set<std::string>& files) {
  std::set<std::string> dirs;
  for (const auto& path : files) {
    for (auto slash = path.rfind('/'); slash != std::string::npos && slash > 0;
         slash = path.rfind('/', slash - 1)) {
      if (!dirs.insert(path.substr(0, slash)).second) break;  // its parents are in already
    }
  }
  return dirs;
}

void FileCache::close_all() {
  std::lock_guard lock(mutex_);
  open_.clear();
  lru_.clear();
}

std::size_t FileCache::open_count() const {
  std::lock_guard lock(mutex_);
  return open_.size();
}

}  // namespace lanspread::transfer
