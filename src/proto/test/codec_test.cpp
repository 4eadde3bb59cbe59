#include "proto/codec.hpp"
#include "proto/limits.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lanspread::proto {
namespace {

Sha256 digest(std::uint8_t fill) {
  Sha256 s;
  s.bytes.fill(fill);
  return s;
}

// Guards against a message changing in transit through encode + decode (a codec asymmetry
// would make peers of the same version unable to talk).
TEST(Codec, EveryRequestRoundTrips) {
  const Request requests[] = {
      Ping{},
      ListGames{},
      GetGame{"xonotic"},
      GetGameFileData{"xonotic", "data/a.pk3"},
      GetGameFileChunk{"xonotic", "data/a.pk3", 8 * kMiB, 8 * kMiB, {}, false},
      GetGameFileChunk{"xonotic", "data/a.pk3", 0, 10, digest(0x5a), false},
      GetGameFileChunk{"xonotic", "data/a.pk3", 0, 10, {}, true},
      GetChunkMap{"xonotic", "0.8.6", digest(0x5a)},
      GetGameFiles{"xonotic", {"data/a.cfg", "data/b.cfg"}, 2048, {}, false},
      GetGameFiles{"xonotic", {"a"}, 1, digest(0x5a), true}};
  for (const auto& r : requests) {
    auto decoded = decode_request(encode_request(r));
    ASSERT_TRUE(decoded) << type_name(r) << ": " << decoded.error().message();
    EXPECT_EQ(*decoded, r);
  }
}

// Same guard for responses, including full manifests with hashes.
TEST(Codec, EveryResponseRoundTrips) {
  Game game{"xonotic", "0.8.6", kDefaultChunkSize, {}};
  game.files.push_back({"data", 0, true, {}});
  game.files.push_back({"data/a.pk3", 10, false, {digest(0xab)}});
  game.files.push_back({"empty.txt", 0, false, {}});
  const Response responses[] = {Pong{"peer-1", 7},
                                Games{{GameSummary{"xonotic", "0.8.6", 10, true, false, {}},
                                       GameSummary{"0ad", "", 0, false, false, {}},
                                       GameSummary{"warsow", "", 0, false, false, "2.1"}}},
                                game,
                                FileData{1234},
                                Error{WireErrorCode::not_found, "no such game"},
                                ChunkMap{"xonotic", "0.8.6", digest(0x5a), 10, {0xff, 0x40}}};
  for (const auto& r : responses) {
    auto decoded = decode_response(encode_response(r));
    ASSERT_TRUE(decoded) << type_name(r) << ": " << decoded.error().message();
    EXPECT_EQ(*decoded, r);
  }
}

// Guards against a chunk map that does not fit its own count being taken for one (swarming):
// the bitmap must have exactly ceil(chunks / 8) bytes, with the unused bits zero, in
// lowercase hex; and an answer for another digest does not answer the request.
TEST(Codec, ChunkMapsAreCheckedAgainstTheirCount) {
  const std::string d = digest(0x5a).hex();
  auto map = [&](std::string chunks, std::string bitmap) {
    return R"({"type":"ChunkMap","id":"x","version":"1","digest":")" + d + R"(","chunks":)" +
           chunks + R"(,"bitmap":")" + bitmap + R"("})";
  };
  EXPECT_TRUE(decode_response(map("10", "ffc0")));
  EXPECT_EQ(decode_response(map("10", "ff")).error(), errc::inconsistent);      // too short
  EXPECT_EQ(decode_response(map("10", "ffc000")).error(), errc::inconsistent);  // too long
  EXPECT_EQ(decode_response(map("10", "ffe0")).error(), errc::inconsistent);    // bit 11 set
  EXPECT_EQ(decode_response(map("10", "FFC0")).error(), errc::bad_value);       // uppercase
  EXPECT_EQ(decode_response(map("10", "ffc")).error(), errc::bad_value);        // odd
  EXPECT_EQ(decode_response(map("99999999", "")).error(), errc::too_many);
  const GetChunkMap asked{"x", "1", digest(0x5a)};
  EXPECT_TRUE(decode_response_to(asked, map("10", "ffc0")));
  const GetChunkMap other{"x", "1", digest(0x11)};
  EXPECT_EQ(decode_response_to(other, map("10", "ffc0")).error(), errc::unexpected_response);
  // A GetGameFileChunk with a digest that is not one is refused.
  EXPECT_FALSE(decode_request(
      R"({"type":"GetGameFileChunk","game_id":"x","path":"a","offset":0,"length":1,"digest":"zz"})"));
}

// Guards against hostile or broken JSON crashing the decoder or being half-accepted.
TEST(Codec, HostileRequestsAreRefusedWithAReason) {
  struct Case {
    std::string json;
    errc expected;
  };
  const Case cases[] = {
      {"", errc::bad_json},
      {"{", errc::bad_json},
      {"[]", errc::not_an_object},
      {"42", errc::not_an_object},
      {R"({"type":"Nope"})", errc::unknown_type},
      {R"({"typ":"Ping"})", errc::missing_field},
      {R"({"type":1})", errc::wrong_type},
      {R"({"type":"GetGame"})", errc::missing_field},
      {R"({"type":"GetGame","id":"../etc"})", errc::bad_id},
      {R"({"type":"GetGameFileData","game_id":"x","path":"/etc/passwd"})", errc::bad_path},
      {R"({"type":"GetGameFileData","game_id":"x","path":"local/a"})", errc::bad_path},
      {R"({"type":"GetGameFileChunk","game_id":"x","path":"a","offset":-1,"length":1})",
       errc::bad_value},
      {R"({"type":"GetGameFileChunk","game_id":"x","path":"a","offset":1.5,"length":1})",
       errc::wrong_type},
      {R"({"type":"GetGameFileChunk","game_id":"x","path":"a","offset":18446744073709551615,"length":2})",
       errc::bad_range},
      {R"({"type":"GetGameFileChunk","game_id":"x","path":"a","offset":0,"length":0})",
       errc::bad_range},
      {R"({"type":"GetGameFiles","game_id":"x","paths":[],"length":1})", errc::bad_value},
      {R"({"type":"GetGameFiles","game_id":"x","paths":["a","a"],"length":2})", errc::inconsistent},
      {R"({"type":"GetGameFiles","game_id":"x","paths":["a","../b"],"length":2})", errc::bad_path},
      {R"({"type":"GetGameFiles","game_id":"x","paths":["a",1],"length":2})", errc::wrong_type},
      {R"({"type":"GetGameFiles","game_id":"x","paths":["a","b"],"length":1})", errc::bad_range},
      {R"({"type":"GetGameFiles","game_id":"x","paths":["a"],"length":67108865})", errc::bad_range},
      {R"({"type":"GetGameFiles","game_id":"x","paths":"a","length":1})", errc::wrong_type},
      {R"({"type":"Ping","x":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]})", errc::bad_json},
      {"{\"type\":\"GetGame\",\"id\":\"\xff\"}", errc::bad_json},
  };
  for (const auto& c : cases) {
    auto r = decode_request(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_EQ(r.error(), c.expected) << c.json << " -> " << r.error().message();
  }
}

// Guards against a manifest with malformed hashes being trusted for verification.
TEST(Codec, ManifestWithBadHashIsRefused) {
  const std::string upper(64, 'A');
  const std::string json = R"({"type":"Game","id":"x","version":"1","chunk_size":8388608,)"
                           R"("files":[{"path":"a","size":1,"is_dir":false,"chunk_hashes":[")" +
                           upper + R"("]}]})";
  auto r = decode_response(json);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::bad_hash);
}

// Guards against a peer answering one request with another message (e.g. pushing a huge
// manifest in reply to a chunk request).
TEST(Codec, ResponseMustAnswerTheRequest) {
  const Request get_game = GetGame{"xonotic"};
  const Request chunk = GetGameFileChunk{"xonotic", "a", 0, 100, {}, false};
  const std::string game_json = encode_response(Game{"xonotic", "1", kDefaultChunkSize, {}});
  const std::string other_game = encode_response(Game{"0ad", "1", kDefaultChunkSize, {}});
  EXPECT_TRUE(decode_response_to(get_game, game_json));
  EXPECT_EQ(decode_response_to(get_game, other_game).error(), errc::unexpected_response);
  EXPECT_EQ(decode_response_to(chunk, game_json).error(), errc::unexpected_response);
  EXPECT_EQ(decode_response_to(chunk, encode_response(FileData{99})).error(),
            errc::unexpected_response);
  EXPECT_TRUE(decode_response_to(chunk, encode_response(FileData{100})));
  EXPECT_TRUE(decode_response_to(chunk, encode_response(Error{WireErrorCode::busy, "later"})));
  // Several files: the answer announces exactly the bytes asked for.
  const Request files = GetGameFiles{"xonotic", {"a", "b"}, 300, {}, false};
  EXPECT_TRUE(decode_response_to(files, encode_response(FileData{300})));
  EXPECT_EQ(decode_response_to(files, encode_response(FileData{299})).error(),
            errc::unexpected_response);
  EXPECT_EQ(decode_response_to(files, game_json).error(), errc::unexpected_response);
}

// Guards against a batch request a server would refuse for its size: 257 paths are too many
// for one request, 256 are not.
TEST(Codec, GetGameFilesIsBoundedInFiles) {
  GetGameFiles r{"x", {}, kMaxFilesPerBatch + 1, {}, false};
  for (std::size_t i = 0; i <= kMaxFilesPerBatch; ++i) r.paths.push_back("f" + std::to_string(i));
  auto over = decode_request(encode_request(r));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error(), errc::too_many);
  r.paths.pop_back();
  r.length = kMaxFilesPerBatch;
  EXPECT_TRUE(decode_request(encode_request(r)));
}

// Guards against an unknown error code from a newer peer being dropped as garbage.
TEST(Codec, UnknownErrorCodeBecomesInternal) {
  auto r = decode_response(R"({"type":"Error","code":"quota","message":"m"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<Error>(*r).code, WireErrorCode::internal);
}

}  // namespace
}  // namespace lanspread::proto
