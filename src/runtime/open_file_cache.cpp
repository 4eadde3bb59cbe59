#include "runtime/open_file_cache.hpp"

namespace lanspread::runtime {

std::size_t OpenFileCache::used_by(Owner owner) const {
  auto it = owners_.find(owner);
  return it == owners_.end() ? 0 : it->second;
}

OpenFileCache::Take OpenFileCache::take(Owner owner, const std::string& key, int* fd) {
  if (used_by(owner) >= max_per_owner_) return Take::wait;
  if (auto it = files_.find(key); it != files_.end()) {
    ++it->second.users;
    ++owners_[owner];
    *fd = it->second.fd.get();
    return Take::hit;
  }
  if (opening_.contains(key)) return Take::wait;
  if (open_count() >= max_open_) return Take::wait;
  opening_.insert(key);
  ++owners_[owner];
  return Take::open_it;
}

void OpenFileCache::opened(Owner owner, const std::string& key, sys::UniqueFd fd) {
  opening_.erase(key);
  if (!fd) {
    if (auto it = owners_.find(owner); it != owners_.end() && --it->second == 0) owners_.erase(it);
    return;
  }
  File& f = files_[key];
  f.fd = std::move(fd);
  f.users = 1;
}

void OpenFileCache::put(Owner owner, const std::string& key) {
  if (auto it = owners_.find(owner); it != owners_.end() && --it->second == 0) owners_.erase(it);
  auto it = files_.find(key);
  if (it == files_.end() || it->second.users == 0) return;
  if (--it->second.users == 0) files_.erase(it);  // closes it
}

}  // namespace lanspread::runtime
