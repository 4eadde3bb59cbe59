// Wire types of protocol `lanspread/1` (docs/protocol.md). Plain values; the codec in
// codec.hpp turns them into JSON and back, validating everything that comes from a peer.
#pragma once

#include "proto/error.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace lanspread::proto {

// SHA-256 digest; on the wire as 64 lowercase hex digits.
struct Sha256 {
  std::array<std::uint8_t, 32> bytes{};

  std::string hex() const;
  static std::optional<Sha256> from_hex(std::string_view hex) noexcept;
  friend bool operator==(const Sha256&, const Sha256&) = default;
};

// ---- requests -------------------------------------------------------------------------

struct Ping {
  friend bool operator==(const Ping&, const Ping&) = default;
};
struct ListGames {
  friend bool operator==(const ListGames&, const ListGames&) = default;
};
struct GetGame {
  std::string id;
  friend bool operator==(const GetGame&, const GetGame&) = default;
};
struct GetGameFileData {
  std::string game_id;
  std::string path;
  friend bool operator==(const GetGameFileData&, const GetGameFileData&) = default;
};
struct GetGameFileChunk {
  std::string game_id;
  std::string path;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  // Set: the chunk of the version whose manifest has this digest, which the server may be
  // downloading itself (swarming); it serves only chunks it holds verified. Unset: the
  // downloaded version, as before.
  std::optional<Sha256> digest;
  // Set by a downloader that gets the chunk from other downloaders as well (swarming): the
  // server may answer `busy` when it is sending, or just sent, this chunk to another such
  // downloader, or when it already sends as many such chunks as it spreads at once; the
  // client then asks for another chunk, or for this one elsewhere (docs/protocol.md).
  bool spread = false;
  friend bool operator==(const GetGameFileChunk&, const GetGameFileChunk&) = default;
};
// Several whole small files at once (protocol revision 3): each a file of one chunk, `length`
// their sizes in all, at most the manifest's chunk size. Answered with FileData of `length`
// bytes: the files' bytes one after another, in the order of `paths`. `digest` and `spread`
// as for GetGameFileChunk.
struct GetGameFiles {
  std::string game_id;
  std::vector<std::string> paths;
  std::uint64_t length = 0;
  std::optional<Sha256> digest;
  bool spread = false;
  friend bool operator==(const GetGameFiles&, const GetGameFiles&) = default;
};
// Which chunks of `version` of `game_id` (the manifest with `digest`) the server, which is
// downloading it, holds verified.
struct GetChunkMap {
  std::string game_id;
  std::string version;
  Sha256 digest;
  friend bool operator==(const GetChunkMap&, const GetChunkMap&) = default;
};

using Request = std::variant<Ping, ListGames, GetGame, GetGameFileData, GetGameFileChunk,
                             GetChunkMap, GetGameFiles>;

// ---- responses ------------------------------------------------------------------------

struct GameSummary {
  std::string id;
  std::string version;  // empty when the game is not downloaded
  std::uint64_t size = 0;
  bool downloaded = false;
  bool installed = false;
  // The version the peer is downloading and serves the verified chunks of (ask GetChunkMap);
  // empty: none. On the wire only when set.
  std::string partial_version;
  friend bool operator==(const GameSummary&, const GameSummary&) = default;
};

struct GameFileDescription {
  std::string path;  // relative, '/'-separated
  std::uint64_t size = 0;
  bool is_dir = false;
  std::vector<Sha256> chunk_hashes;  // ceil(size / chunk_size) entries; none for directories
  friend bool operator==(const GameFileDescription&, const GameFileDescription&) = default;
};

struct Pong {
  std::string peer_id;
  std::uint64_t library_rev = 0;
  friend bool operator==(const Pong&, const Pong&) = default;
};
struct Games {
  std::vector<GameSummary> games;
  friend bool operator==(const Games&, const Games&) = default;
};
struct Game {
  std::string id;
  std::string version;
  std::uint64_t chunk_size = 0;
  std::vector<GameFileDescription> files;
  friend bool operator==(const Game&, const Game&) = default;
};
struct FileData {
  std::uint64_t size = 0;  // number of raw bytes that follow the frame
  friend bool operator==(const FileData&, const FileData&) = default;
};
struct Error {
  WireErrorCode code = WireErrorCode::internal;
  std::string message;
  friend bool operator==(const Error&, const Error&) = default;
};

// The answer to GetChunkMap: bit i of `bitmap` (byte i / 8, most significant bit first) is
// set when chunk i is held verified. Chunks are numbered over the manifest's files in their
// order, each file's chunks in order (directories have none). `bitmap` has exactly
// ceil(chunks / 8) bytes and its unused bits are zero; on the wire it is lowercase hex.
struct ChunkMap {
  std::string id;
  std::string version;
  Sha256 digest;
  std::uint64_t chunks = 0;
  std::vector<std::uint8_t> bitmap;
  friend bool operator==(const ChunkMap&, const ChunkMap&) = default;
};

using Response = std::variant<Pong, Games, Game, FileData, Error, ChunkMap>;

std::string_view type_name(const Request& r) noexcept;
std::string_view type_name(const Response& r) noexcept;

// Number of chunks a file of `size` bytes has with `chunk_size`-byte chunks.
constexpr std::uint64_t chunk_count(std::uint64_t size, std::uint64_t chunk_size) noexcept {
  return chunk_size == 0 ? 0 : size / chunk_size + (size % chunk_size != 0 ? 1 : 0);
}

}  // namespace lanspread::proto
