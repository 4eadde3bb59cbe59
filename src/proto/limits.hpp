// Protocol limits. Every bound a peer's input is checked against lives here
// (docs/protocol.md, "Limits").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lanspread::proto {

inline constexpr std::uint32_t kKiB = 1024;
inline constexpr std::uint32_t kMiB = 1024 * kKiB;

inline constexpr std::size_t kFrameHeaderSize = 4;
inline constexpr std::uint32_t kMaxRequestFrame = 64 * kKiB;
inline constexpr std::uint32_t kMaxResponseFrame = 1 * kMiB;
// Game carries a manifest (a 200 GB game in 2 MiB chunks has 102,400 chunk hashes, 6.9 MB;
// 200,000 files fit).
// Its answer is decoded as it streams in (response_parser.hpp), so a large frame costs no
// more memory than the manifest it describes.
inline constexpr std::uint32_t kMaxManifestFrame = 64 * kMiB;

// The chunk size a scan gives a game (docs/architecture.md, "Swarming": a smaller chunk is
// whole, and can be passed on, sooner).
inline constexpr std::uint64_t kDefaultChunkSize = 2 * kMiB;
inline constexpr std::uint64_t kMinChunkSize = 64 * kKiB;
inline constexpr std::uint64_t kMaxChunkSize = 64 * kMiB;

inline constexpr std::size_t kMaxIdLength = 64;
inline constexpr std::size_t kMaxPathLength = 1024;
inline constexpr std::size_t kMaxSegmentLength = 255;
inline constexpr std::size_t kMaxPathDepth = 64;
inline constexpr std::size_t kMaxVersionLength = 128;
inline constexpr std::size_t kMaxPeerIdLength = 128;
inline constexpr std::size_t kMaxMessageLength = 1024;
inline constexpr std::size_t kMaxGames = 10'000;
// Whole small files in one GetGameFiles request (their bytes in all: at most one chunk).
inline constexpr std::size_t kMaxFilesPerBatch = 256;
inline constexpr std::size_t kMaxFilesPerGame = 200'000;
// One file at most (a game's chunk hashes in all are capped too, by kMaxChunkHashesPerGame:
// in 2 MiB chunks a game holds at most about 1.9 TiB, in 8 MiB chunks 7.6 TiB).
inline constexpr std::uint64_t kMaxFileSize = 1ULL << 42;  // 4 TiB
inline constexpr std::size_t kMaxJsonDepth = 8;
// Chunk hashes one manifest may list in all: what a manifest frame can hold (64 hex digits,
// two quotes and a comma each), about a million.
inline constexpr std::size_t kMaxChunkHashesPerGame = kMaxManifestFrame / (64 + 3);

// The largest GameSummary our encoder writes: the longest id, a version of `"` characters
// (each escaped to two bytes), the largest size, the longer boolean spelling, and a comma.
inline constexpr std::size_t kMaxEncodedSummary =
    std::string_view(R"({"id":")").size() + kMaxIdLength +
    std::string_view(R"(","version":")").size() + 2 * kMaxVersionLength +
    std::string_view(R"(","size":)").size() + 20 +
    std::string_view(R"(,"downloaded":false,"installed":false)").size() +
    std::string_view(R"(,"partial_version":"")").size() + 2 * kMaxVersionLength +
    std::string_view("}").size() + 1;
// Games answers carry summaries only, never manifests: the cap is what kMaxGames of the
// largest summaries need, rounded up (10,000 x 685 bytes = 6.5 MiB).
inline constexpr std::uint32_t kMaxGamesFrame = 7 * kMiB;
static_assert(kMaxGames * kMaxEncodedSummary + 64 <= kMaxGamesFrame);
// A ChunkMap's bitmap: one bit per chunk of the largest manifest (122 KiB, 245 KiB of hex),
// well inside a response frame.
inline constexpr std::size_t kMaxChunkMapBytes = (kMaxChunkHashesPerGame + 7) / 8;
static_assert(2 * kMaxChunkMapBytes + 1024 <= kMaxResponseFrame);

}  // namespace lanspread::proto
