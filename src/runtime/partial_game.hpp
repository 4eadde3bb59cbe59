// A version this peer is downloading, as its game server offers it to others (swarming,
// docs/protocol.md "GetChunkMap"): the manifest and its digest, which chunks are held verified,
// and the directory each file's bytes live under (the game root, or an update's staging area).
// Only verified chunks are servable, and only by exact chunk: a sealed chunk's bytes never
// change on disk (transfer::ChunkGuard drops late writes). Network thread only.
#pragma once

#include "proto/messages.hpp"
#include "transfer/chunk_map.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace lanspread::runtime {

struct PartialGame {
  PartialGame(std::string id, proto::Sha256 digest, std::shared_ptr<const proto::Game> manifest,
              std::vector<std::filesystem::path> roots);

  // The file a GetGameFileChunk names, if the range is exactly one chunk held verified.
  const proto::GameFileDescription* servable(std::string_view path, std::uint64_t offset,
                                             std::uint64_t length,
                                             std::filesystem::path& root) const;
  // The file a GetGameFiles names, if it is a file of one chunk held verified.
  const proto::GameFileDescription* servable_whole(std::string_view path,
                                                   std::filesystem::path& root) const;
  proto::ChunkMap chunk_map() const;

  std::string id;
  proto::Sha256 digest;
  std::shared_ptr<const proto::Game> manifest;
  transfer::ChunkNumbering numbering;
  transfer::ChunkBitmap verified;
  std::vector<std::filesystem::path> roots;  // per manifest file
  // Committed: every chunk is in the game root (served until the next download of the game).
  bool complete = false;

 private:
  std::unordered_map<std::string_view, std::size_t> paths_;  // into *manifest
};

// The SHA-256 of a manifest's canonical encoding: what identifies "the same files" between
// peers (the manifest vote, GetChunkMap, GetGameFileChunk's digest). Blocking: a large
// manifest takes a while to encode, so call it on the disk pool.
proto::Sha256 manifest_digest(const proto::Game& manifest);

}  // namespace lanspread::runtime
