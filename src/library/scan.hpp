// The local library: which catalog games this machine holds, in what state, and their
// manifests (docs/architecture.md, "The game directory").
#pragma once

#include "library/catalog.hpp"
#include "proto/limits.hpp"
#include "proto/messages.hpp"

#include <boost/system/result.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace lanspread::library {

struct LocalGame {
  std::string id;
  std::filesystem::path root;
  bool downloaded = false;  // root-level version.ini is a regular file
  bool installed = false;   // local/ is a directory
  std::string version;      // from version.ini; empty when absent or unusable
  std::uint64_t size = 0;   // bytes of payload files (not local/, not reserved names)
  std::uint64_t file_count = 0;
  // Present when the game is downloaded with a usable version, hashing was asked for and
  // every payload file could be read.
  std::optional<proto::Game> manifest;
  // What a person should know about this root ("version.ini is a directory", ...).
  std::vector<std::string> problems;

  // What peers see. A root whose version.ini holds no usable version is not offered as
  // downloaded, since no peer could tell which version it is.
  proto::GameSummary summary() const;
};

struct IgnoredEntry {
  std::string name;
  std::string reason;
};

struct LocalLibrary {
  std::filesystem::path game_dir;
  std::vector<LocalGame> games;       // catalog ids with a root directory, sorted by id
  std::vector<IgnoredEntry> ignored;  // other entries of the games dir, and why

  const LocalGame* find(std::string_view id) const;
  std::vector<proto::GameSummary> summaries() const;
};

struct ScanOptions {
  bool hash = true;       // compute manifests of downloaded games
  bool use_index = true;  // read and refresh each root's .lanspread.index
  std::uint64_t chunk_size = proto::kDefaultChunkSize;
  unsigned threads = 0;  // hashing threads; 0 = one per CPU
  const std::atomic<bool>* cancel = nullptr;
  // Called from hashing threads with bytes hashed so far and bytes to hash in all.
  std::function<void(std::uint64_t done, std::uint64_t total)> progress;
};

// Scans every catalog id under `game_dir`. Blocks on disk and hashing: run it on a worker
// thread. Fails only when the games dir itself is unusable; per-root trouble is reported
// in LocalGame::problems.
boost::system::result<LocalLibrary> scan_local_library(const std::filesystem::path& game_dir,
                                                       const Catalog& catalog,
                                                       const ScanOptions& options = {});

// Scans one root (for rescans of a single id). Returns std::nullopt in the value when the
// root does not exist or is not a directory.
boost::system::result<std::optional<LocalGame>> scan_game(const std::filesystem::path& game_dir,
                                                          std::string_view id,
                                                          const ScanOptions& options = {});

}  // namespace lanspread::library
