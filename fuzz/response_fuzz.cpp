// Fuzzes the streaming response decoder (ResponseParser, ResponseReader), which reads every
// answer a peer sends. Properties checked beyond "no crash and no unbounded allocation"
// (libFuzzer's -rss_limit_mb and -malloc_limit_mb):
//   - acceptance and the message do not depend on how the text is cut into pieces;
//   - what decodes re-encodes and decodes to the same message;
//   - a manifest it accepts is accepted, identically, by the JSON-tree decoder the library
//     index uses (game_from_json), so the two decoders never disagree on what is valid;
//   - the frame reader, fed the same bytes framed, gives the same answer.
// The first input byte picks the piece size; the rest is the JSON text.
#include "proto/codec.hpp"
#include "proto/frame.hpp"
#include "proto/response_parser.hpp"

#include <boost/json/parse.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace lanspread::proto;

namespace {

result<Response> in_pieces(std::string_view text, std::size_t piece) {
  ResponseParser p;
  for (std::size_t i = 0; i < text.size(); i += piece) {
    if (auto ok = p.write(text.substr(i, piece)); !ok) return ok.error();
  }
  return p.finish();
}

// Accepted or refused alike, with the same message when accepted. (Which violation is named
// may differ: a piece boundary can let a field's check run before a later byte is seen.)
bool same(const result<Response>& a, const result<Response>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || *a == *b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 17;
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);

  const auto whole = decode_response(text);
  if (!same(whole, in_pieces(text, piece))) std::abort();
  if (!whole) return 0;

  const auto again = decode_response(encode_response(*whole));
  if (!again || !(*again == *whole)) std::abort();

  if (const auto* game = std::get_if<Game>(&*whole)) {
    boost::system::error_code ec;
    boost::json::parse_options opts;
    opts.max_depth = 8;
    const auto tree = boost::json::parse(text, ec, {}, opts);
    if (ec) std::abort();
    const auto from_tree = game_from_json(tree);
    if (!from_tree || !(*from_tree == *game)) std::abort();
  }

  // The same text as a frame, answering the request its type belongs to.
  Request sent = Ping{};
  if (const auto* g = std::get_if<Game>(&*whole)) sent = GetGame{g->id};
  if (std::holds_alternative<Games>(*whole)) sent = ListGames{};
  if (std::holds_alternative<FileData>(*whole)) sent = GetGameFileData{"x", "a"};
  auto framed = encode_frame(text, response_frame_cap(sent));
  if (!framed) return 0;
  ResponseReader reader(sent);
  std::string_view rest = *framed;
  while (!rest.empty() && !reader.complete()) {
    const auto n = std::min(piece, rest.size());
    auto used = reader.feed(std::span(reinterpret_cast<const std::uint8_t*>(rest.data()), n));
    if (!used) break;
    rest.remove_prefix(*used);
  }
  const auto read = reader.take();
  if (!read || !(*read == *whole)) std::abort();
  return 0;
}
