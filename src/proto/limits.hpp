// Protocol limits. Every bound a peer's input is checked against lives here
// (docs/protocol.md, "Limits").
#pragma once

#include <cstddef>
#include <cstdint>

namespace lanspread::proto {

inline constexpr std::uint32_t kKiB = 1024;
inline constexpr std::uint32_t kMiB = 1024 * kKiB;

inline constexpr std::size_t kFrameHeaderSize = 4;
inline constexpr std::uint32_t kMaxRequestFrame = 64 * kKiB;
inline constexpr std::uint32_t kMaxResponseFrame = 1 * kMiB;
// Game and Games carry manifests (a 200 GB game has 25,600 chunk hashes).
inline constexpr std::uint32_t kMaxManifestFrame = 64 * kMiB;

inline constexpr std::uint64_t kDefaultChunkSize = 8 * kMiB;
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
inline constexpr std::size_t kMaxFilesPerGame = 200'000;
// One file may not exceed what its chunk hashes can describe within a manifest frame.
inline constexpr std::uint64_t kMaxFileSize = 1ULL << 42;  // 4 TiB
inline constexpr std::size_t kMaxJsonDepth = 8;

}  // namespace lanspread::proto
