// The files one download writes into, held open in a bounded cache: at most `capacity`
// descriptors, the least recently used closed first, so a game of any number of files needs
// a fixed number of them. Each file is opened with open_for_write (component by component,
// never following a symlink, never truncating); one that was closed is opened the same way
// again, so a link planted meanwhile is refused, not followed.
//
// Thread-safe: the disk pool's threads share it. A Lease keeps its descriptor open until it
// is released; leases are meant to be held for one write.
#pragma once

#include "sys/unique_fd.hpp"
#include "transfer/error.hpp"

#include <filesystem>
#include <list>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

namespace lanspread::transfer {

class FileCache {
 public:
  static constexpr std::size_t kSyncEachUpTo = 64;

  class Lease {
   public:
    Lease(Lease&& o) noexcept
        : cache_(std::exchange(o.cache_, nullptr)), path_(o.path_), fd_(o.fd_) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    int fd() const { return fd_; }

   private:
    friend class FileCache;
    Lease(FileCache* cache, const std::string* path, int fd)
        : cache_(cache), path_(path), fd_(fd) {}
    FileCache* cache_;
    const std::string* path_;
    int fd_;
  };

  FileCache(std::filesystem::path root, std::size_t capacity);
  ~FileCache();
  FileCache(const FileCache&) = delete;
  FileCache& operator=(const FileCache&) = delete;

  // The open file `root/relative` (opened now if it is not cached). Errors name the cause
  // (too_many_open_files, permission_denied, bad_path, ...), never a guess.
  result<Lease> acquire(const std::string& relative);
  // Makes every file ever acquired durable, then closes all: fdatasync each (reopening those
  // closed meanwhile) and fsync every directory on the way to one (any may be new), or, past
  // kSyncEachUpTo files, one syncfs of the root's filesystem. Call when no lease is held.
  result<void> sync_all();
  // Closes every descriptor without syncing. Call when no lease is held.
  void close_all();
  std::size_t open_count() const;

 private:
  struct Entry {
    sys::UniqueFd fd;
    int leases = 0;
    std::list<std::string>::iterator lru;  // position in lru_ (front: most recent)
  };
  void release(const std::string& path);
  bool evict_one();  // closes the least recently used file without a lease

  const std::filesystem::path root_;
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> open_;
  std::list<std::string> lru_;
  std::set<std::string> written_;  // every file acquired, for sync_all
};

// Every directory on the way to the files (relative paths with '/'), below the root: the
// directories whose entries a new file or directory needs to be durable (the root's own
// entries are made durable by the commit, which syncs it).
std::set<std::string> directories_of(const std::set<std::string>& files);

}  // namespace lanspread::transfer
