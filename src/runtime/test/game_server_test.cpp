// The game server over real QUIC on loopback, serving a real library from a temp dir.
#include "runtime/game_server.hpp"

#include "../../library/test/temp_dir.hpp"
#include "library/hasher.hpp"
#include "proto/codec.hpp"
#include "proto/frame.hpp"
#include "proto/limits.hpp"

#include <netinet/in.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <gtest/gtest.h>

#include <random>

namespace lanspread::runtime {
namespace {

using namespace std::chrono_literals;
using transport::Address;
using transport::awaitable;
namespace fs = std::filesystem;

Address loopback() {
  sockaddr_in in{};
  in.sin_family = AF_INET;
  in.sin_addr.s_addr = htonl(0x7f000001);
  return Address::from(reinterpret_cast<const sockaddr*>(&in), sizeof in);
}

struct Reply {
  boost::system::error_code error;  // transport or protocol failure
  std::optional<proto::Response> response;
  std::vector<std::uint8_t> bytes;  // raw bytes after a FileData frame
};

// Sends raw bytes as a request and reads the answer the way a client does.
awaitable<Reply> ask_raw(std::shared_ptr<transport::Connection> conn, std::string raw,
                         proto::Request sent) {
  Reply out;
  auto s = co_await conn->open_stream();
  if (!s) co_return Reply{s.error(), {}, {}};
  if (auto w = co_await s->write({reinterpret_cast<const std::uint8_t*>(raw.data()), raw.size()});
      !w)
    co_return Reply{w.error(), {}, {}};
  (void)s->finish();
  proto::FrameDecoder decoder(proto::response_frame_cap(sent));
  std::vector<std::uint8_t> buf(64 * 1024);
  std::size_t leftover_at = 0;
  std::size_t leftover_len = 0;
  while (!decoder.complete()) {
    auto n = co_await s->read_some(buf);
    if (!n) co_return Reply{n.error(), {}, {}};
    if (*n == 0) co_return Reply{proto::errc::frame_truncated, {}, {}};
    auto used = decoder.feed(std::span<const std::uint8_t>(buf.data(), *n));
    if (!used) co_return Reply{used.error(), {}, {}};
    leftover_at = *used;
    leftover_len = *n - *used;
  }
  auto resp = proto::decode_response_to(sent, decoder.take_payload());
  if (!resp) co_return Reply{resp.error(), {}, {}};
  out.response = *resp;
  if (const auto* fd = std::get_if<proto::FileData>(&*resp)) {
    out.bytes.assign(buf.begin() + static_cast<std::ptrdiff_t>(leftover_at),
                     buf.begin() + static_cast<std::ptrdiff_t>(leftover_at + leftover_len));
    while (out.bytes.size() < fd->size) {
      auto n = co_await s->read_some(buf);
      if (!n) co_return Reply{n.error(), out.response, out.bytes};
      if (*n == 0) break;
      out.bytes.insert(out.bytes.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(*n));
    }
    if (out.bytes.size() != fd->size) out.error = proto::errc::frame_truncated;
  }
  co_return out;
}

awaitable<Reply> ask(std::shared_ptr<transport::Connection> conn, proto::Request r) {
  co_return co_await ask_raw(conn, *proto::frame_request(r), r);
}

class GameServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string big(3 * 65536 + 123, 'x');
    std::string data(big);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
    payload_ = data;
    testing::write_file(games_ / "alpha/version.ini", "5\n");
    testing::write_file(games_ / "alpha/data/big.bin", payload_);
    testing::write_file(games_ / "alpha/small.txt", "hello");
    testing::write_file(games_ / "alpha/local/save.dat", "mine");
    testing::write_file(games_ / "alpha/.lanspread.json", "{}");
    testing::write_file(outside_ / "secret", "secret");
    catalog_ = *library::Catalog::parse("[alpha]\nname=A\n[beta]\nname=B\n", "t");
    library::ScanOptions o;
    o.chunk_size = 65536;
    lib_ = std::make_shared<library::LocalLibrary>(
        *library::scan_local_library(games_.path(), catalog_, o));
  }

  // Runs `body(server, conn)` with a server and one connected client.
  template <class F>
  void run(F&& body, GameServerConfig config = {}) {
    asio::io_context io;
    asio::thread_pool disk(2);
    auto server_id = *transport::Identity::generate();
    auto client_id = *transport::Identity::generate();
    transport::TransportSettings settings;
    settings.idle_timeout = 5s;
    auto sep = *transport::Endpoint::open(io, loopback(), settings, server_id);
    auto cep = *transport::Endpoint::open(io, loopback(), settings, client_id);
    config.peer_id = server_id->peer_id();
    auto lib = lib_;
    auto server = std::make_shared<GameServer>(
        config, io.get_executor(), disk.get_executor(), [lib] { return lib; }, [] { return 3u; });
    asio::co_spawn(
        io,
        [sep, server]() -> awaitable<void> {
          for (;;) {
            auto c = co_await sep->accept();
            if (!c) co_return;
            asio::co_spawn(co_await asio::this_coro::executor, server->serve(*c), asio::detached);
          }
        },
        asio::detached);
    bool done = false;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
          auto conn = co_await cep->dial(sep->local_address(), server_id->peer_id());
          EXPECT_TRUE(conn) << conn.error().message();
          if (conn) co_await body(*server, *conn);
          done = true;
          cep->close();
          sep->close();
        },
        asio::detached);
    io.run_for(60s);
    disk.join();
    EXPECT_TRUE(done) << "timed out";
  }

  // Offers `alpha`'s files as `beta` at `version` (alpha's by default), a version being
  // downloaded here with nothing verified yet.
  std::shared_ptr<PartialGame> offer_beta(GameServer& server,
                                          std::optional<std::string> version = std::nullopt) {
    auto manifest = std::make_shared<proto::Game>(*lib_->find("alpha")->manifest);
    manifest->id = "beta";
    if (version) manifest->version = *version;
    auto partial = std::make_shared<PartialGame>(
        "beta", manifest_digest(*manifest), manifest,
        std::vector<fs::path>(manifest->files.size(), games_.path() / "alpha"));
    server.set_partial_games(
        [partial] { return std::vector<std::shared_ptr<const PartialGame>>{partial}; });
    return partial;
  }

  testing::TempDir games_;
  testing::TempDir outside_;
  library::Catalog catalog_;
  std::shared_ptr<library::LocalLibrary> lib_;
  std::string payload_;
};

// Guards against wrong or missing answers to the requests every peer relies on.
TEST_F(GameServerTest, ServesPingListManifestAndBytes) {
  run([&](GameServer&, std::shared_ptr<transport::Connection> c) -> awaitable<void> {
    auto pong = co_await ask(c, proto::Ping{});
    EXPECT_FALSE(pong.error) << pong.error.message();
    EXPECT_EQ(std::get<proto::Pong>(*pong.response).library_rev, 3u);

    auto games = co_await ask(c, proto::ListGames{});
    EXPECT_TRUE(games.response);
    if (!games.response) co_return;
    EXPECT_EQ(std::get<proto::Games>(*games.response).games, lib_->summaries());

    auto game = co_await ask(c, proto::GetGame{"alpha"});
    EXPECT_TRUE(game.response);
    if (!game.response) co_return;
    const auto& manifest = std::get<proto::Game>(*game.response);
    EXPECT_EQ(manifest, *lib_->find("alpha")->manifest);

    // Every chunk of big.bin, fetched separately, matches the manifest hash.
    const proto::GameFileDescription* big = nullptr;
    for (const auto& f : manifest.files)
      if (f.path == "data/big.bin") big = &f;
    EXPECT_NE(big, nullptr);
    if (big == nullptr) co_return;
    for (std::size_t i = 0; i < big->chunk_hashes.size(); ++i) {
      const std::uint64_t off = i * manifest.chunk_size;
      const std::uint64_t len = std::min<std::uint64_t>(manifest.chunk_size, big->size - off);
      auto chunk =
          co_await ask(c, proto::GetGameFileChunk{"alpha", "data/big.bin", off, len, {}, false});
      EXPECT_FALSE(chunk.error) << chunk.error.message();
      EXPECT_EQ(library::sha256(chunk.bytes), big->chunk_hashes[i]) << i;
    }
    auto whole = co_await ask(c, proto::GetGameFileData{"alpha", "small.txt"});
    EXPECT_EQ(std::string(whole.bytes.begin(), whole.bytes.end()), "hello");
  });
}

// Guards against a downloader serving what it has not verified (swarming): a game being
// downloaded is listed with its partial version, its chunk map is given only for its own
// manifest digest, and only whole chunks the map has are served, by that digest.
TEST_F(GameServerTest, ServesOnlyVerifiedChunksOfAPartialGame) {
  run([&](GameServer& server, std::shared_ptr<transport::Connection> c) -> awaitable<void> {
    auto partial = offer_beta(server, "6");
    const auto& manifest = partial->manifest;
    const proto::Sha256 digest = partial->digest;
    std::size_t big = 0;
    while (manifest->files[big].path != "data/big.bin") ++big;
    partial->verified.set(partial->numbering.index(big, 65536));  // chunk 1 of big.bin

    auto games = co_await ask(c, proto::ListGames{});
    EXPECT_TRUE(games.response);
    if (!games.response) co_return;
    bool listed = false;
    for (const auto& g : std::get<proto::Games>(*games.response).games)
      listed |= g.id == "beta" && g.partial_version == "6" && !g.downloaded;
    EXPECT_TRUE(listed);

    auto map = co_await ask(c, proto::GetChunkMap{"beta", "6", digest});
    EXPECT_TRUE(map.response && std::holds_alternative<proto::ChunkMap>(*map.response));
    if (map.response && std::holds_alternative<proto::ChunkMap>(*map.response)) {
      const auto& m = std::get<proto::ChunkMap>(*map.response);
      EXPECT_EQ(m.chunks, partial->numbering.total());
      EXPECT_EQ(m.bitmap, partial->verified.bytes());
    }
    proto::Sha256 other = digest;
    other.bytes[0] ^= 1;
    auto not_ours = co_await ask(c, proto::GetChunkMap{"beta", "6", other});
    EXPECT_TRUE(not_ours.response && std::holds_alternative<proto::Error>(*not_ours.response));

    const std::uint64_t cs = manifest->chunk_size;
    auto held =
        co_await ask(c, proto::GetGameFileChunk{"beta", "data/big.bin", cs, cs, digest, false});
    EXPECT_FALSE(held.error) << held.error.message();
    EXPECT_EQ(library::sha256(held.bytes), manifest->files[big].chunk_hashes[1]);
    const proto::GetGameFileChunk refused[] = {
        {"beta", "data/big.bin", 0, cs, digest, false},       // not verified
        {"beta", "data/big.bin", cs, cs / 2, digest, false},  // part of a chunk
        {"beta", "data/big.bin", cs + 1, cs, digest, false},  // not a chunk's offset
        {"beta", "data/big.bin", cs, cs, other, false},       // another manifest
        {"beta", "data/big.bin", cs, cs, {}, false},          // beta is not downloaded here
    };
    for (const auto& r : refused) {
      auto reply = co_await ask(c, r);
      EXPECT_TRUE(reply.response && std::holds_alternative<proto::Error>(*reply.response))
          << proto::encode_request(r);
    }
  });
}

// Guards against a batch of small files that arrives out of order, mixes in a file larger
// than a chunk, or gives a downloader's unverified files: GetGameFiles answers the files'
// bytes one after another in the order asked, and refuses anything else before any byte.
TEST_F(GameServerTest, ServesWholeSmallFilesInOneAnswer) {
  run([&](GameServer& server, std::shared_ptr<transport::Connection> c) -> awaitable<void> {
    using W = proto::WireErrorCode;
    auto served =
        co_await ask(c, proto::GetGameFiles{"alpha", {"version.ini", "small.txt"}, 7, {}, false});
    EXPECT_FALSE(served.error) << served.error.message();
    EXPECT_EQ(std::string(served.bytes.begin(), served.bytes.end()), "5\nhello");
    auto code = [&](proto::Request r) -> awaitable<std::optional<W>> {
      auto reply = co_await ask(c, r);
      if (!reply.response || !std::holds_alternative<proto::Error>(*reply.response))
        co_return std::nullopt;
      co_return std::get<proto::Error>(*reply.response).code;
    };
    // A file of several chunks, a file not in the game, the wrong length, a game not here.
    const std::uint64_t big = payload_.size();
    EXPECT_EQ(co_await code(
                  proto::GetGameFiles{"alpha", {"small.txt", "data/big.bin"}, 5 + big, {}, false}),
              W::not_found);
    EXPECT_EQ(
        co_await code(proto::GetGameFiles{"alpha", {"small.txt", "local/save.dat"}, 9, {}, false}),
        W::bad_request);  // not a payload path at all
    EXPECT_EQ(co_await code(proto::GetGameFiles{"alpha", {"small.txt", "nope.txt"}, 6, {}, false}),
              W::not_found);
    EXPECT_EQ(
        co_await code(proto::GetGameFiles{"alpha", {"small.txt", "version.ini"}, 8, {}, false}),
        W::bad_request);
    EXPECT_EQ(co_await code(proto::GetGameFiles{"beta", {"small.txt"}, 5, {}, false}),
              W::not_found);
    // A refusal naming a long path still fits what a client accepts as an answer.
    const std::string long_path = std::string(250, 'd') + "/" + std::string(250, 'e') + "/" +
                                  std::string(250, 'f') + "/" + std::string(250, 'g');
    EXPECT_EQ(co_await code(proto::GetGameFiles{"alpha", {long_path}, 5, {}, false}), W::not_found);

    // A version being downloaded here: only files whose chunk is verified, by its digest.
    auto partial = offer_beta(server);
    const proto::Sha256 digest = partial->digest;
    for (std::size_t i = 0; i < partial->manifest->files.size(); ++i)
      if (partial->manifest->files[i].path == "small.txt")
        partial->verified.set(partial->numbering.index(i, 0));
    auto held = co_await ask(c, proto::GetGameFiles{"beta", {"small.txt"}, 5, digest, false});
    EXPECT_EQ(std::string(held.bytes.begin(), held.bytes.end()), "hello");
    EXPECT_EQ(
        co_await code(proto::GetGameFiles{"beta", {"small.txt", "version.ini"}, 7, digest, false}),
        W::not_found);  // version.ini is not verified there
  });
}

// Guards against a server that cannot spread its uplink, or that turns away older clients:
// a chunk request marked `spread` is answered `busy` when the server has no turn free for it
// (here: none at all), the same request without `spread` is served, and a client that asks
// for the map of a version this peer downloads is reported (so it is asked back).
TEST_F(GameServerTest, SpreadRequestsMayBeDeclinedOthersAreServed) {
  GameServerConfig config;
  config.spread.max_uploads = 0;
  std::vector<std::string> asked;
  run(
      [&](GameServer& server, std::shared_ptr<transport::Connection> c) -> awaitable<void> {
        auto busy = co_await ask(c, proto::GetGameFileChunk{"alpha", "small.txt", 0, 5, {}, true});
        EXPECT_TRUE(busy.response && std::holds_alternative<proto::Error>(*busy.response) &&
                    std::get<proto::Error>(*busy.response).code == proto::WireErrorCode::busy);
        auto served =
            co_await ask(c, proto::GetGameFileChunk{"alpha", "small.txt", 0, 5, {}, false});
        EXPECT_EQ(std::string(served.bytes.begin(), served.bytes.end()), "hello");
        // A batch of small files is one upload too.
        auto busy_files = co_await ask(c, proto::GetGameFiles{"alpha", {"small.txt"}, 5, {}, true});
        EXPECT_TRUE(
            busy_files.response && std::holds_alternative<proto::Error>(*busy_files.response) &&
            std::get<proto::Error>(*busy_files.response).code == proto::WireErrorCode::busy);

        auto partial = offer_beta(server);
        const auto& manifest = partial->manifest;
        const proto::Sha256 digest = partial->digest;
        server.on_map_asked([&](const std::string& client, const PartialGame& offer) {
          if (offer.id == "beta") asked.push_back(client);
        });
        auto map = co_await ask(c, proto::GetChunkMap{"beta", manifest->version, digest});
        EXPECT_TRUE(map.response && std::holds_alternative<proto::ChunkMap>(*map.response));
        EXPECT_EQ(asked.size(), 1u);
        if (asked.empty()) co_return;
        // The client's id (its certificate's fingerprint), not the server's own.
        EXPECT_EQ(asked[0].size(), c->peer_id().size());
        EXPECT_NE(asked[0], c->peer_id());
      },
      config);
}

// Guards against serving anything outside the manifest: traversal, reserved names, the
// installed tree, symlinks planted after the scan, ranges past the end.
TEST_F(GameServerTest, RefusesHostileRequests) {
  run([&](GameServer& server, std::shared_ptr<transport::Connection> c) -> awaitable<void> {
    auto refused = [&](proto::Request r) -> awaitable<proto::WireErrorCode> {
      auto reply = co_await ask(c, r);
      if (!reply.response || !std::holds_alternative<proto::Error>(*reply.response)) {
        ADD_FAILURE() << "not refused: " << proto::encode_request(r);
        co_return proto::WireErrorCode::internal;
      }
      co_return std::get<proto::Error>(*reply.response).code;
    };
    using W = proto::WireErrorCode;
    // Paths that fail validation never reach the file system.
    for (const char* p : {"../alpha/small.txt", "/etc/passwd", "local/save.dat", ".lanspread.json",
                          "data/../small.txt", "data//big.bin"}) {
      EXPECT_EQ(co_await refused(proto::GetGameFileData{"alpha", p}), W::bad_request) << p;
    }
    EXPECT_EQ(co_await refused(proto::GetGameFileData{"beta", "small.txt"}), W::not_found);
    EXPECT_EQ(co_await refused(proto::GetGame{"beta"}), W::not_found);
    EXPECT_EQ(co_await refused(proto::GetGameFileData{"alpha", "nothere.txt"}), W::not_found);
    EXPECT_EQ(co_await refused(proto::GetGameFileData{"alpha", "data"}), W::not_found);
    EXPECT_EQ(co_await refused(proto::GetGameFileChunk{"alpha", "small.txt", 5, 1, {}, false}),
              W::bad_request);
    EXPECT_EQ(co_await refused(proto::GetGameFileChunk{"alpha", "small.txt", 0, 6, {}, false}),
              W::bad_request);
    // A symlink swapped in after the scan is not followed.
    fs::remove(games_ / "alpha/small.txt");
    fs::create_symlink(outside_ / "secret", games_ / "alpha/small.txt");
    EXPECT_NE(co_await refused(proto::GetGameFileData{"alpha", "small.txt"}), W::bad_request);
    // Garbage and unknown messages.
    auto garbage = co_await ask_raw(c, *proto::encode_frame("{nope", 1000), proto::Ping{});
    EXPECT_TRUE(garbage.response && std::holds_alternative<proto::Error>(*garbage.response));
    auto unknown =
        co_await ask_raw(c, *proto::encode_frame(R"({"type":"Format"})", 1000), proto::Ping{});
    EXPECT_TRUE(unknown.response && std::holds_alternative<proto::Error>(*unknown.response));
    // An oversize frame header: the stream is reset, nothing is buffered.
    auto oversize = co_await ask_raw(c, std::string("\x00\x10\x00\x00{", 5), proto::Ping{});
    EXPECT_EQ(oversize.error, transport::errc::stream_reset);
    EXPECT_GE(server.stats().refused.load(), 15u);
    // And the connection still serves well-behaved requests.
    auto pong = co_await ask(c, proto::Ping{});
    EXPECT_TRUE(pong.response && std::holds_alternative<proto::Pong>(*pong.response));
  });
}

// Guards against a client that opens streams and sends nothing tying up the server.
TEST_F(GameServerTest, SilentStreamsAreResetAfterTheTimeout) {
  GameServerConfig config;
  config.request_timeout = 300ms;
  run(
      [&](GameServer&, std::shared_ptr<transport::Connection> c) -> awaitable<void> {
        std::vector<transport::Stream> silent;
        // Each sends the first byte of a frame header and then nothing (a stream the peer
        // never wrote to does not exist for it yet).
        const std::uint8_t first = 0;
        for (int i = 0; i < 100; ++i) {
          auto s = co_await c->open_stream();
          if (!s) continue;
          (void)co_await s->write({&first, 1});
          silent.push_back(std::move(*s));
        }
        std::uint8_t b;
        for (auto& s : silent) {
          auto r = co_await s.read_some({&b, 1});
          EXPECT_FALSE(r);
        }
        auto pong = co_await ask(c, proto::Ping{});
        EXPECT_TRUE(pong.response && std::holds_alternative<proto::Pong>(*pong.response));
      },
      config);
}

// Guards against one hostile client (garbage frames, traversal, huge ranges, streams it
// abandons) slowing or breaking the service of a well-behaved peer on the same server.
TEST_F(GameServerTest, HostileClientDoesNotDisturbAWellBehavedPeer) {
  run([&](GameServer& server, std::shared_ptr<transport::Connection> hostile) -> awaitable<void> {
    // A second, well-behaved peer on its own endpoint and connection.
    auto ex = co_await asio::this_coro::executor;
    auto good_ep = *transport::Endpoint::open(static_cast<asio::io_context&>(ex.context()),
                                              loopback(), transport::TransportSettings{},
                                              *transport::Identity::generate());
    auto server_id =
        std::get<proto::Pong>(*(co_await ask(hostile, proto::Ping{})).response).peer_id;
    auto good = co_await good_ep->dial(hostile->remote(), server_id);
    EXPECT_TRUE(good);
    if (!good) co_return;

    bool hostile_done = false;
    asio::co_spawn(
        ex,
        [&]() -> awaitable<void> {
          std::mt19937 rng(11);
          for (int i = 0; i < 300; ++i) {
            std::string junk(std::uniform_int_distribution<int>(0, 300)(rng), '\0');
            for (auto& ch : junk) ch = static_cast<char>(rng());
            const proto::Request variants[] = {
                proto::GetGameFileData{"alpha", "../../etc/passwd"},
                proto::GetGameFileChunk{"alpha", "data/big.bin", ~0ULL - 5, 10, {}, false},
                proto::GetGameFileData{"alpha", "local/save.dat"}, proto::GetGame{"beta"}};
            if (i % 3 == 0) {
              (void)co_await ask_raw(hostile, *proto::encode_frame(junk, 1 << 20), proto::Ping{});
            } else {
              const auto& r = variants[static_cast<std::size_t>(i) % 4];
              (void)co_await ask_raw(hostile, *proto::frame_request(r), r);
            }
          }
          hostile_done = true;
        },
        asio::detached);

    const auto& manifest = *lib_->find("alpha")->manifest;
    int verified = 0;
    while (!hostile_done || verified < 20) {
      for (const auto& f : manifest.files) {
        if (f.is_dir || f.size == 0) continue;
        const std::uint64_t len = std::min<std::uint64_t>(manifest.chunk_size, f.size);
        auto chunk =
            co_await ask(*good, proto::GetGameFileChunk{"alpha", f.path, 0, len, {}, false});
        EXPECT_FALSE(chunk.error) << chunk.error.message();
        EXPECT_EQ(library::sha256(chunk.bytes), f.chunk_hashes[0]) << f.path;
        ++verified;
      }
    }
    EXPECT_GE(server.stats().refused.load(), 200u);
    good_ep->close();
  });
}

}  // namespace
}  // namespace lanspread::runtime
