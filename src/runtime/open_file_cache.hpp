// The game server's open files: at most `max_open` descriptors in total, of which one
// connection may use `max_per_owner` at once. A file in use by several requests at once is
// opened once; a file no longer in use is closed, so a file replaced on disk is opened anew
// (and checked against the manifest) by the next request. Bookkeeping only: the caller
// opens files (off the network thread) and waits.
#pragma once

#include "sys/unique_fd.hpp"

#include <cstddef>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

namespace lanspread::runtime {

class OpenFileCache {
 public:
  using Owner = const void*;
  OpenFileCache(std::size_t max_open, std::size_t max_per_owner)
      : max_open_(max_open), max_per_owner_(max_per_owner) {}

  enum class Take {
    hit,      // open already: `fd` is set and counted as used by the owner
    open_it,  // a slot is held for the owner: open the file, then call opened()
    wait,     // no slot now (the owner's share, the total, or the file is being opened)
  };
  Take take(Owner owner, const std::string& key, int* fd);
  // After Take::open_it: `fd` is the opened file, or invalid when opening failed.
  void opened(Owner owner, const std::string& key, sys::UniqueFd fd);
  // The owner is done with `key` (after Take::hit, or opened() with a valid fd).
  void put(Owner owner, const std::string& key);
  std::size_t open_count() const { return files_.size() + opening_.size(); }
  std::size_t used_by(Owner owner) const;

 private:
  struct File {
    sys::UniqueFd fd;
    std::size_t users = 0;
  };
  std::size_t max_open_;
  std::size_t max_per_owner_;
  std::unordered_map<std::string, File> files_;
  std::set<std::string> opening_;
  std::map<Owner, std::size_t> owners_;
};

}  // namespace lanspread::runtime
