// The per-root hash cache `.lanspread.index`: for each payload file its size, mtime and chunk
// hashes, so a rescan hashes only files that changed. It is a cache, never an authority: a
// missing, corrupt, foreign or inconsistent index is discarded and rebuilt.
#pragma once

#include "proto/messages.hpp"

#include <boost/system/result.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace lanspread::library {

struct IndexEntry {
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::vector<proto::Sha256> hashes;
};

class RootIndex {
 public:
  explicit RootIndex(std::uint64_t chunk_size) : chunk_size_(chunk_size) {}

  // Reads `<root>/.lanspread.index`. Errors (missing, unreadable, corrupt, other format
  // version, a chunk size other than `chunk_size` or, without it, outside the protocol's
  // range, entries that contradict themselves) mean "no usable index".
  static boost::system::result<RootIndex> load(const std::filesystem::path& root,
                                               std::optional<std::uint64_t> chunk_size);

  // Writes the index atomically (`.lanspread.index.tmp`, then rename); not fsynced, see index.cpp.
  boost::system::result<void> save(const std::filesystem::path& root) const;

  // The cached hashes of `path` if its size and mtime still match.
  const std::vector<proto::Sha256>* lookup(const std::string& path, std::uint64_t size,
                                           std::int64_t mtime_ns) const;
  void put(std::string path, IndexEntry entry) { entries_[std::move(path)] = std::move(entry); }

  std::uint64_t chunk_size() const { return chunk_size_; }
  std::size_t size() const { return entries_.size(); }
  friend bool operator==(const RootIndex&, const RootIndex&);

 private:
  std::uint64_t chunk_size_;
  std::unordered_map<std::string, IndexEntry> entries_;
};

bool operator==(const IndexEntry& a, const IndexEntry& b);

// A game just downloaded into `root`, every chunk verified against `manifest`: its hashes are
// what is on disk, so they become the root's index (each file keyed by its size and mtime
// now), and the rescan that follows the download hashes nothing. A file that is not a regular
// file of the manifest's size is left out (the scan hashes it).
boost::system::result<void> index_verified(const std::filesystem::path& root,
                                           const proto::Game& manifest);

}  // namespace lanspread::library
