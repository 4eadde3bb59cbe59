#include "proto/response_parser.hpp"
#include "proto/codec.hpp"
#include "proto/frame.hpp"
#include "proto/limits.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>

namespace lanspread::proto {
namespace {

const std::string kHash(64, 'a');

Game sample_game() {
  Sha256 h;
  h.bytes.fill(0xab);
  Game g{"xonotic", "0.8.6", kMinChunkSize, {}};
  g.files.push_back({"data", 0, true, {}});
  g.files.push_back({"data/a.pk3", 3 * kMinChunkSize - 1, false, {h, h, h}});
  g.files.push_back({"empty.txt", 0, false, {}});
  return g;
}

result<Response> parse_in_pieces(std::string_view text, std::size_t piece,
                                 ResponseKinds expected = ResponseKinds::all()) {
  ResponseParser p(expected);
  for (std::size_t i = 0; i < text.size(); i += piece) {
    if (auto ok = p.write(text.substr(i, piece)); !ok) return ok.error();
  }
  return p.finish();
}

// Feeds text produced by `more` (called with the count of pieces so far; an empty piece ends
// the text) until the parser refuses; returns the error and how many bytes it had taken.
struct Refusal {
  boost::system::error_code error;
  std::size_t fed = 0;
};
Refusal feed_until_refused(const std::function<std::string(std::size_t)>& more) {
  ResponseParser p;
  Refusal r;
  for (std::size_t i = 0;; ++i) {
    const std::string piece = more(i);
    if (piece.empty()) {
      auto done = p.finish();
      r.error = done ? boost::system::error_code{} : done.error();
      return r;
    }
    r.fed += piece.size();
    if (auto ok = p.write(piece); !ok) {
      r.error = ok.error();
      return r;
    }
  }
}

// Guards against answers split across QUIC reads decoding differently from whole ones: every
// piece size, down to single bytes, gives the same message.
TEST(ResponseParser, AnyPieceSizeGivesTheSameMessage) {
  const std::string text = encode_response(sample_game());
  for (std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{7}, text.size()}) {
    auto r = parse_in_pieces(text, piece);
    ASSERT_TRUE(r) << piece << ": " << r.error().message();
    EXPECT_EQ(std::get<Game>(*r), sample_game()) << piece;
  }
}

// Guards against a decoder that only understands our own key order: another implementation
// may write `type` last, hashes before sizes and the chunk size after the files.
TEST(ResponseParser, KeyOrderDoesNotMatter) {
  const std::string text =
      R"({"files":[{"chunk_hashes":[],"is_dir":true,"size":0,"path":"data"},)"
      R"({"chunk_hashes":[")" +
      std::string(64, 'a') +
      R"(","bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",)"
      R"("cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"],)"
      R"("is_dir":false,"path":"data/a.pk3","size":196607},)"
      R"({"path":"empty.txt","size":0,"is_dir":false,"chunk_hashes":[]}],)"
      R"("chunk_size":65536,"version":"0.8.6","id":"xonotic","type":"Game"})";
  auto r = decode_response(text);
  ASSERT_TRUE(r) << r.error().message();
  const auto& g = std::get<Game>(*r);
  EXPECT_EQ(g.id, "xonotic");
  ASSERT_EQ(g.files.size(), 3u);
  EXPECT_EQ(g.files[1].chunk_hashes.size(), 3u);
}

// Guards against a newer peer's extra fields breaking old peers, and against unknown fields
// being stored (they are skipped unread, whatever their shape).
TEST(ResponseParser, UnknownFieldsAreSkipped) {
  const std::string text =
      R"({"type":"Pong","extra":{"a":[1,2,{"b":null}],"c":"x"},"peer_id":"p","note":")" +
      std::string(100000, 'n') + R"(","library_rev":3,"files":17})";
  auto r = decode_response(text);
  ASSERT_TRUE(r) << r.error().message();
  EXPECT_EQ(std::get<Pong>(*r), (Pong{"p", 3}));
  // Fields of a type the request cannot get back are skipped too, even before `type`.
  auto games = decode_response_to(ListGames{}, R"({"files":5,"games":[],"type":"Games"})");
  ASSERT_TRUE(games) << games.error().message();
}

// Guards against broken or hostile answers being half-accepted or crashing the decoder: each
// is refused with a reason a log can name.
TEST(ResponseParser, MalformedAnswersAreRefusedWithAReason) {
  const std::string file_start = R"({"type":"Game","id":"x","version":"1","chunk_size":65536,)"
                                 R"("files":[{"path":"a","size":1,"is_dir":false,)";
  struct Case {
    std::string json;
    errc expected;
  };
  const Case cases[] = {
      {"", errc::bad_json},
      {R"({"type":"Pong")", errc::bad_json},
      {R"({"type":"Pong","peer_id":"p","library_rev":1} x)", errc::bad_json},
      {"[]", errc::not_an_object},
      {"\"Pong\"", errc::not_an_object},
      {R"({"type":"Nope"})", errc::unknown_type},
      {R"({"type":7})", errc::wrong_type},
      {R"({"peer_id":"p","library_rev":1})", errc::missing_field},
      {R"({"type":"Pong","peer_id":"p"})", errc::missing_field},
      {R"({"type":"Pong","peer_id":"p","library_rev":-1})", errc::bad_value},
      {R"({"type":"Pong","peer_id":"p","library_rev":1.5})", errc::wrong_type},
      {R"({"type":"Pong","peer_id":"p","library_rev":1e30})", errc::wrong_type},
      {R"({"type":"Pong","peer_id":null,"library_rev":1})", errc::wrong_type},
      {R"({"type":"Pong","peer_id":"p","peer_id":"q","library_rev":1})", errc::inconsistent},
      {R"({"type":"FileData","size":"12"})", errc::wrong_type},
      {R"({"type":"Games","games":{}})", errc::wrong_type},
      {R"({"type":"Games","games":[1]})", errc::wrong_type},
      {R"({"type":"Games","games":[{"id":"../x","version":"","size":0,"downloaded":false,"installed":false}]})",
       errc::bad_id},
      {R"({"type":"Games","games":[{"id":"a","version":"","size":0,"downloaded":false}]})",
       errc::missing_field},
      {file_start + R"("chunk_hashes":[")" + std::string(64, 'A') + R"("]}]})", errc::bad_hash},
      {file_start + R"("chunk_hashes":[")" + std::string(65, 'a') + R"("]}]})", errc::bad_hash},
      {file_start + R"("chunk_hashes":[")" + std::string(63, 'a') + R"("]}]})", errc::bad_hash},
      {file_start + R"("chunk_hashes":[1]}]})", errc::wrong_type},
      {file_start + R"("chunk_hashes":[")" + kHash + R"(",")" + kHash + R"("]}]})",
       errc::inconsistent},
      {file_start + R"("chunk_hashes":[]}]})", errc::inconsistent},
      {R"({"type":"Game","id":"x","version":"1","chunk_size":100,"files":[]})", errc::bad_value},
      {R"({"type":"Game","id":"x","version":"1","chunk_size":65536,"files":[{"path":"../a","size":0,"is_dir":true,"chunk_hashes":[]}]})",
       errc::bad_path},
      {R"({"type":"Game","id":"x","version":"1","chunk_size":65536,"files":[{"path":"a","size":1,"is_dir":true,"chunk_hashes":[]}]})",
       errc::inconsistent},
      {R"({"type":"Game","id":"x","version":"1","chunk_size":65536,"files":[{"path":"a","size":0,"is_dir":true,"chunk_hashes":[]},{"path":"a","size":0,"is_dir":true,"chunk_hashes":[]}]})",
       errc::inconsistent},
      {"{\"type\":\"Error\",\"code\":\"busy\",\"message\":\"\xff\"}", errc::bad_json},
  };
  for (const auto& c : cases) {
    auto r = decode_response(c.json);
    ASSERT_FALSE(r) << c.json;
    EXPECT_EQ(r.error(), c.expected) << c.json << " -> " << r.error().message();
  }
  // Every prefix of a valid answer is incomplete, never a message.
  const std::string whole = encode_response(sample_game());
  for (std::size_t n = 0; n < whole.size(); ++n) {
    EXPECT_FALSE(decode_response(whole.substr(0, n))) << n;
  }
}

// Guards against nesting being used to exhaust the stack or memory: more than 8 levels is
// refused, even inside a field that would otherwise be skipped.
TEST(ResponseParser, DeepNestingIsRefused) {
  auto nested = [](int depth) {
    return R"({"type":"Pong","peer_id":"p","library_rev":1,"x":)" + std::string(depth - 1, '[') +
           std::string(depth - 1, ']') + "}";
  };
  EXPECT_TRUE(decode_response(nested(8)));
  auto deep = decode_response(nested(9));
  ASSERT_FALSE(deep);
  EXPECT_EQ(deep.error(), errc::bad_json);
  // A million opening brackets stop at the ninth.
  auto r = feed_until_refused([](std::size_t i) {
    if (i == 0) return std::string(R"({"type":"Pong","x":)");
    return i < 1000 ? std::string(1000, '[') : std::string();
  });
  EXPECT_EQ(r.error, errc::bad_json);
  EXPECT_LE(r.fed, 2000u);
}

// Guards against a huge string being buffered: an over-long path is refused at its first
// extra byte, before the string even ends.
TEST(ResponseParser, OversizedStringsStopAtTheFirstExtraByte) {
  auto r = feed_until_refused([](std::size_t i) -> std::string {
    if (i == 0)
      return R"({"type":"Game","id":"x","version":"1","chunk_size":65536,"files":[{"path":")";
    return i < 65536 ? std::string(1024, 'p') : std::string();  // 64 MiB, unterminated
  });
  EXPECT_EQ(r.error, errc::bad_path);
  EXPECT_LE(r.fed, 3000u);
  auto message = decode_response(R"({"type":"Error","code":"busy","message":")" +
                                 std::string(kMaxMessageLength + 1, 'm') + R"("})");
  ASSERT_FALSE(message);
  EXPECT_EQ(message.error(), errc::bad_value);
}

// Guards against counts being checked only after everything was built: the first file, game
// or hash over its bound ends the decoding, so memory stays near what a legitimate manifest
// needs.
TEST(ResponseParser, HugeCountsStopAtTheFirstItemOverTheBound) {
  const std::string empty_file = R"({"path":"f","size":0,"is_dir":false,"chunk_hashes":[]},)";
  auto files = feed_until_refused([&](std::size_t i) -> std::string {
    if (i == 0) return R"({"type":"Game","id":"x","version":"1","chunk_size":65536,"files":[)";
    std::string block;
    for (int k = 0; k < 1000; ++k) block += empty_file;
    return i < 1000 ? block : std::string();  // a million files
  });
  EXPECT_EQ(files.error, errc::too_many);
  EXPECT_LE(files.fed, (kMaxFilesPerGame + 1000) * empty_file.size() + 100);

  const std::string summary =
      R"({"id":"g","version":"","size":0,"downloaded":false,"installed":false},)";
  auto games = feed_until_refused([&](std::size_t i) -> std::string {
    if (i == 0) return R"({"type":"Games","games":[)";
    std::string block;
    for (int k = 0; k < 100; ++k) block += summary;
    return i < 1000 ? block : std::string();
  });
  EXPECT_EQ(games.error, errc::too_many);
  EXPECT_LE(games.fed, (kMaxGames + 100) * summary.size() + 100);

  // A one-byte file with a stream of hashes: refused at the second hash.
  const std::string hash = "\"" + kHash + "\",";
  auto hashes = feed_until_refused([&](std::size_t i) -> std::string {
    if (i == 0)
      return R"({"type":"Game","id":"x","version":"1","chunk_size":65536,)"
             R"("files":[{"path":"a","size":1,"is_dir":false,"chunk_hashes":[)";
    return i < 100000 ? hash : std::string();
  });
  EXPECT_EQ(hashes.error, errc::inconsistent);
  EXPECT_LE(hashes.fed, 200u + 2 * hash.size());

  // Hashes before any size: refused once the manifest holds more than a frame could carry.
  std::string block;
  for (int k = 0; k < 1000; ++k) block += hash;
  auto total = feed_until_refused([&](std::size_t i) -> std::string {
    if (i == 0)
      return R"({"type":"Game","id":"x","version":"1","chunk_size":65536,)"
             R"("files":[{"chunk_hashes":[)";
    return i < 2000 ? block : std::string();
  });
  EXPECT_EQ(total.error, errc::too_many);
  EXPECT_LE(total.fed, (kMaxChunkHashesPerGame + 1000) * hash.size() + 200);
}

// Guards against a peer answering with something else than what was asked (a manifest in
// reply to a ping, another game's manifest), and against frames larger than the request's
// cap being read at all.
TEST(ResponseReader, RefusesWhatDoesNotAnswerTheRequest) {
  auto feed = [](ResponseReader& r, const std::string& bytes) {
    return r.feed(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  };
  {
    ResponseReader r(Ping{});
    auto framed = frame_response(sample_game());
    ASSERT_TRUE(framed);
    auto used = feed(r, *framed);
    ASSERT_FALSE(used);
    EXPECT_EQ(used.error(), errc::unexpected_response);
  }
  {
    ResponseReader r(GetGame{"other"});
    auto framed = frame_response(sample_game());
    ASSERT_TRUE(feed(r, *framed));
    auto taken = r.take();
    ASSERT_FALSE(taken);
    EXPECT_EQ(taken.error(), errc::unexpected_response);
  }
  {
    ResponseReader r(ListGames{});
    const std::string header("\x00\x70\x00\x01", 4);  // 7 MiB + 1
    auto used = feed(r, header);
    ASSERT_FALSE(used);
    EXPECT_EQ(used.error(), errc::frame_too_large);
  }
  {
    // The raw bytes after a FileData frame are left for the caller; a cut frame is reported.
    ResponseReader r(GetGameFileChunk{"xonotic", "a", 0, 5, {}, false});
    auto framed = frame_response(FileData{5});
    ASSERT_TRUE(framed);
    auto used = feed(r, *framed + "HELLO");
    ASSERT_TRUE(used);
    EXPECT_EQ(*used, framed->size());
    ASSERT_TRUE(r.complete());
    EXPECT_EQ(std::get<FileData>(*r.take()).size, 5u);
    ResponseReader cut(Ping{});
    ASSERT_TRUE(feed(cut, framed->substr(0, 6)));
    EXPECT_EQ(cut.take().error(), errc::frame_truncated);
  }
}

}  // namespace
}  // namespace lanspread::proto
