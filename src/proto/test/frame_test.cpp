#include "proto/frame.hpp"
#include "proto/codec.hpp"
#include "proto/limits.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lanspread::proto {
namespace {

// Guards against frames split across reads (QUIC delivers arbitrary pieces) being
// mis-assembled.
TEST(Frame, ReassemblesFromSingleBytes) {
  auto framed = frame_request(GetGame{"openarena"});
  ASSERT_TRUE(framed);
  FrameDecoder d(kMaxRequestFrame);
  for (char c : *framed) {
    ASSERT_FALSE(d.complete());
    auto used = d.feed(std::string_view(&c, 1));
    ASSERT_TRUE(used);
    EXPECT_EQ(*used, 1u);
  }
  ASSERT_TRUE(d.complete());
  auto req = decode_request(d.take_payload());
  ASSERT_TRUE(req);
  EXPECT_EQ(std::get<GetGame>(*req).id, "openarena");
}

// Guards against the decoder swallowing the raw file bytes that follow a FileData frame.
TEST(Frame, StopsAtTheEndOfTheFrame) {
  auto framed = frame_response(FileData{5});
  ASSERT_TRUE(framed);
  const std::string stream = *framed + "HELLO";
  FrameDecoder d(kMaxResponseFrame);
  auto used = d.feed(stream);
  ASSERT_TRUE(used);
  EXPECT_EQ(*used, framed->size());
  ASSERT_TRUE(d.complete());
  EXPECT_EQ(stream.substr(*used), "HELLO");
}

// Guards against a peer announcing a huge frame and making us buffer it.
TEST(Frame, RefusesOversizeHeaderBeforeBuffering) {
  FrameDecoder d(kMaxRequestFrame);
  const std::string header("\x00\x01\x00\x01", 4);  // 65537 bytes
  auto r = d.feed(header);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::frame_too_large);
}

// Guards against a manifest-sized frame being accepted where only small ones are expected.
TEST(Frame, CapsDependOnTheRequest) {
  EXPECT_EQ(response_frame_cap(GetGame{"x"}), kMaxManifestFrame);
  EXPECT_EQ(response_frame_cap(ListGames{}), kMaxGamesFrame);
  EXPECT_EQ(response_frame_cap(Ping{}), kMaxResponseFrame);
  EXPECT_EQ(response_frame_cap(GetGameFileChunk{"x", "a", 0, 1, {}, false}), kMaxResponseFrame);
  EXPECT_FALSE(encode_frame(std::string(kMaxRequestFrame + 1, ' '), kMaxRequestFrame));
}

// Guards against our own server writing a game list its peers refuse: the largest list the
// limits allow (10,000 summaries with the longest id, a version that escapes to twice its
// length, the largest size) fits the Games frame cap and decodes.
TEST(Frame, LargestGameListFitsTheGamesCap) {
  Games games;
  for (std::size_t i = 0; i < kMaxGames; ++i) {
    std::string id = std::to_string(i);
    id.resize(kMaxIdLength, 'x');
    games.games.push_back({id, std::string(kMaxVersionLength, '"'), ~0ULL, false, false,
                           std::string(kMaxVersionLength, '"')});
  }
  auto framed = frame_response(games);
  ASSERT_TRUE(framed) << framed.error().message();
  EXPECT_GT(framed->size(), kMaxGamesFrame * 9 / 10);  // the cap is not far above need
  ResponseReader reader(ListGames{});
  auto used =
      reader.feed(std::span(reinterpret_cast<const std::uint8_t*>(framed->data()), framed->size()));
  ASSERT_TRUE(used) << used.error().message();
  ASSERT_TRUE(reader.complete());
  auto decoded = reader.take();
  ASSERT_TRUE(decoded) << decoded.error().message();
  EXPECT_EQ(std::get<Games>(*decoded), games);
}

// Guards against a stream that ends mid-frame being taken as a complete message.
TEST(Frame, TruncationIsReported) {
  auto framed = frame_request(Ping{});
  ASSERT_TRUE(framed);
  FrameDecoder d(kMaxRequestFrame);
  ASSERT_TRUE(d.feed(std::string_view(*framed).substr(0, framed->size() - 1)));
  EXPECT_FALSE(d.complete());
  EXPECT_EQ(d.finish().error(), errc::frame_truncated);
  FrameDecoder empty(kMaxRequestFrame);
  EXPECT_EQ(empty.finish().error(), errc::frame_truncated);
}

}  // namespace
}  // namespace lanspread::proto
