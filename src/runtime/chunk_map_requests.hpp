// Swarming, the requesting side (docs/protocol.md "GetChunkMap").
#pragma once

#include "proto/messages.hpp"
#include "transfer/chunk_map.hpp"
#include "transport/endpoint.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace lanspread::runtime {

// Asks a peer which chunks of `manifest` (of `game`, whose digest is `digest`) it holds
// verified. Nullopt when it fails, times out, answers an Error (an older peer, or one that
// does not download this version), or sends a map that does not fit the manifest.
boost::asio::awaitable<std::optional<transfer::ChunkBitmap>> ask_chunk_map(
    std::shared_ptr<transport::Connection> conn, const std::string& game,
    const proto::Game& manifest, const proto::Sha256& digest, std::chrono::milliseconds timeout);

}  // namespace lanspread::runtime
