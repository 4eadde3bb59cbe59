#include "proto/codec.hpp"

#include "proto/limits.hpp"
#include "proto/response_parser.hpp"
#include "proto/try.hpp"
#include "proto/validate.hpp"

#include <boost/json.hpp>

#include <limits>
#include <new>
#include <span>

namespace lanspread::proto {
namespace json = boost::json;

// ---- Sha256 ---------------------------------------------------------------------------

std::string Sha256::hex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(64, '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::optional<Sha256> Sha256::from_hex(std::string_view hex) noexcept {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // uppercase refused: one canonical spelling
  };
  Sha256 out;
  for (std::size_t i = 0; i < 32; ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.bytes[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

std::string_view type_name(const Request& r) noexcept {
  static constexpr std::string_view kNames[] = {
      "Ping",        "ListGames",   "GetGame", "GetGameFileData", "GetGameFileChunk",
      "GetChunkMap", "GetGameFiles"};
  return kNames[r.index()];
}

std::string_view type_name(const Response& r) noexcept {
  static constexpr std::string_view kNames[] = {"Pong",     "Games", "Game",
                                                "FileData", "Error", "ChunkMap"};
  return kNames[r.index()];
}

// ---- encoding -------------------------------------------------------------------------

json::value to_json(const GameSummary& s) {
  json::object o{{"id", s.id},
                 {"version", s.version},
                 {"size", s.size},
                 {"downloaded", s.downloaded},
                 {"installed", s.installed}};
  if (!s.partial_version.empty()) o["partial_version"] = s.partial_version;
  return o;
}

std::string bytes_to_hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * bytes.size(), '0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

std::optional<std::vector<std::uint8_t>> bytes_from_hex(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // uppercase refused: one canonical spelling
  };
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = nibble(hex[2 * i]);
    const int lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

json::value to_json(const GameFileDescription& f) {
  json::array hashes;
  hashes.reserve(f.chunk_hashes.size());
  for (const auto& h : f.chunk_hashes) hashes.emplace_back(h.hex());
  return json::object{{"path", f.path},
                      {"size", f.size},
                      {"is_dir", f.is_dir},
                      {"chunk_hashes", std::move(hashes)}};
}

json::value to_json(const Game& g) {
  json::array files;
  files.reserve(g.files.size());
  for (const auto& f : g.files) files.push_back(to_json(f));
  return json::object{{"type", "Game"},
                      {"id", g.id},
                      {"version", g.version},
                      {"chunk_size", g.chunk_size},
                      {"files", std::move(files)}};
}

std::string encode_request(const Request& request) {
  struct Visitor {
    json::object operator()(const Ping&) const { return {{"type", "Ping"}}; }
    json::object operator()(const ListGames&) const { return {{"type", "ListGames"}}; }
    json::object operator()(const GetGame& r) const { return {{"type", "GetGame"}, {"id", r.id}}; }
    json::object operator()(const GetGameFileData& r) const {
      return {{"type", "GetGameFileData"}, {"game_id", r.game_id}, {"path", r.path}};
    }
    json::object operator()(const GetGameFileChunk& r) const {
      json::object o{{"type", "GetGameFileChunk"},
                     {"game_id", r.game_id},
                     {"path", r.path},
                     {"offset", r.offset},
                     {"length", r.length}};
      if (r.digest) o["digest"] = r.digest->hex();
      if (r.spread) o["spread"] = true;
      return o;
    }
    json::object operator()(const GetGameFiles& r) const {
      json::array paths;
      paths.reserve(r.paths.size());
      for (const auto& path : r.paths) paths.emplace_back(path);
      json::object o{{"type", "GetGameFiles"},
                     {"game_id", r.game_id},
                     {"paths", std::move(paths)},
                     {"length", r.length}};
      if (r.digest) o["digest"] = r.digest->hex();
      if (r.spread) o["spread"] = true;
      return o;
    }
    json::object operator()(const GetChunkMap& r) const {
      return {{"type", "GetChunkMap"},
              {"game_id", r.game_id},
              {"version", r.version},
              {"digest", r.digest.hex()}};
    }
  };
  return json::serialize(std::visit(Visitor{}, request));
}

std::string encode_response(const Response& response) {
  struct Visitor {
    json::value operator()(const Pong& r) const {
      return json::object{{"type", "Pong"}, {"peer_id", r.peer_id}, {"library_rev", r.library_rev}};
    }
    json::value operator()(const Games& r) const {
      json::array games;
      games.reserve(r.games.size());
      for (const auto& g : r.games) games.push_back(to_json(g));
      return json::object{{"type", "Games"}, {"games", std::move(games)}};
    }
    json::value operator()(const Game& r) const { return to_json(r); }
    json::value operator()(const FileData& r) const {
      return json::object{{"type", "FileData"}, {"size", r.size}};
    }
    json::value operator()(const Error& r) const {
      return json::object{{"type", "Error"}, {"code", to_string(r.code)}, {"message", r.message}};
    }
    json::value operator()(const ChunkMap& r) const {
      return json::object{{"type", "ChunkMap"},   {"id", r.id},
                          {"version", r.version}, {"digest", r.digest.hex()},
                          {"chunks", r.chunks},   {"bitmap", bytes_to_hex(r.bitmap)}};
    }
  };
  return json::serialize(std::visit(Visitor{}, response));
}

// ---- decoding -------------------------------------------------------------------------
namespace {

// Field readers: each returns an error value on absence or wrong type.
struct Fields {
  const json::object& obj;

  result<const json::value*> get(std::string_view key) const {
    const json::value* v = obj.if_contains(key);
    if (v == nullptr) return errc::missing_field;
    return v;
  }
  result<std::string> str(std::string_view key, std::size_t max_len) const {
    LANSPREAD_TRY(auto v, get(key));
    if (!v->is_string()) return errc::wrong_type;
    if (v->get_string().size() > max_len) return errc::bad_value;
    return std::string(v->get_string());
  }
  result<std::uint64_t> u64(std::string_view key) const {
    LANSPREAD_TRY(auto v, get(key));
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    if (v->is_int64()) return errc::bad_value;
    return errc::wrong_type;
  }
  result<Sha256> digest(std::string_view key) const {
    LANSPREAD_TRY(auto v, get(key));
    if (!v->is_string()) return errc::wrong_type;
    auto d = Sha256::from_hex(v->get_string());
    if (!d) return errc::bad_hash;
    return *d;
  }
  result<bool> boolean(std::string_view key) const {
    LANSPREAD_TRY(auto v, get(key));
    if (!v->is_bool()) return fail(errc::wrong_type);
    return v->get_bool();
  }
  result<const json::array*> array(std::string_view key, std::size_t max_size) const {
    LANSPREAD_TRY(auto v, get(key));
    if (!v->is_array()) return errc::wrong_type;
    if (v->get_array().size() > max_size) return errc::too_many;
    return &v->get_array();
  }
};

result<json::value> parse(std::string_view text) noexcept {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v;
  try {
    v = json::parse(text, ec, {}, opts);
  } catch (const std::bad_alloc&) {
    return errc::bad_json;
  }
  if (ec) return errc::bad_json;
  if (!v.is_object()) return errc::not_an_object;
  return v;
}

result<GameFileDescription> file_from(const json::value& v) {
  if (!v.is_object()) return errc::wrong_type;
  Fields f{v.get_object()};
  GameFileDescription d;
  LANSPREAD_TRY(d.path, f.str("path", kMaxPathLength));
  LANSPREAD_TRY(d.size, f.u64("size"));
  LANSPREAD_TRY(d.is_dir, f.boolean("is_dir"));
  const std::size_t max_chunks = kMaxFileSize / kMinChunkSize + 1;
  LANSPREAD_TRY(auto hashes, f.array("chunk_hashes", max_chunks));
  d.chunk_hashes.reserve(hashes->size());
  for (const auto& h : *hashes) {
    if (!h.is_string()) return errc::wrong_type;
    auto digest = Sha256::from_hex(h.get_string());
    if (!digest) return errc::bad_hash;
    d.chunk_hashes.push_back(*digest);
  }
  return d;
}

result<Game> game_from(const Fields& f) {
  Game g;
  LANSPREAD_TRY(g.id, f.str("id", kMaxIdLength));
  LANSPREAD_TRY(g.version, f.str("version", kMaxVersionLength));
  LANSPREAD_TRY(g.chunk_size, f.u64("chunk_size"));
  LANSPREAD_TRY(auto files, f.array("files", kMaxFilesPerGame));
  g.files.reserve(files->size());
  for (const auto& fv : *files) {
    LANSPREAD_TRY(auto d, file_from(fv));
    g.files.push_back(std::move(d));
  }
  return g;
}

// The optional fields of the file requests: `digest` (a version being downloaded) and
// `spread` (swarming).
template <class R>
result<void> swarm_options(const json::object& obj, const Fields& f, R& r) {
  if (obj.contains("digest")) {
    LANSPREAD_TRY(auto d, f.digest("digest"));
    r.digest = d;
  }
  if (obj.contains("spread")) {
    LANSPREAD_TRY(r.spread, f.boolean("spread"));
  }
  return {};
}

result<Request> request_from(const json::object& obj) {
  Fields f{obj};
  LANSPREAD_TRY(auto type, f.str("type", 64));
  if (type == "Ping") return Request{Ping{}};
  if (type == "ListGames") return Request{ListGames{}};
  if (type == "GetGame") {
    GetGame r;
    LANSPREAD_TRY(r.id, f.str("id", kMaxIdLength));
    return Request{std::move(r)};
  }
  if (type == "GetGameFileData") {
    GetGameFileData r;
    LANSPREAD_TRY(r.game_id, f.str("game_id", kMaxIdLength));
    LANSPREAD_TRY(r.path, f.str("path", kMaxPathLength));
    return Request{std::move(r)};
  }
  if (type == "GetGameFileChunk") {
    GetGameFileChunk r;
    LANSPREAD_TRY(r.game_id, f.str("game_id", kMaxIdLength));
    LANSPREAD_TRY(r.path, f.str("path", kMaxPathLength));
    LANSPREAD_TRY(r.offset, f.u64("offset"));
    LANSPREAD_TRY(r.length, f.u64("length"));
    LANSPREAD_TRYV(swarm_options(obj, f, r));
    return Request{std::move(r)};
  }
  if (type == "GetGameFiles") {
    GetGameFiles r;
    LANSPREAD_TRY(r.game_id, f.str("game_id", kMaxIdLength));
    LANSPREAD_TRY(auto paths, f.array("paths", kMaxFilesPerBatch));
    r.paths.reserve(paths->size());
    for (const auto& pv : *paths) {
      if (!pv.is_string()) return errc::wrong_type;
      if (pv.get_string().size() > kMaxPathLength) return errc::bad_value;
      r.paths.emplace_back(pv.get_string());
    }
    LANSPREAD_TRY(r.length, f.u64("length"));
    LANSPREAD_TRYV(swarm_options(obj, f, r));
    return Request{std::move(r)};
  }
  if (type == "GetChunkMap") {
    GetChunkMap r;
    LANSPREAD_TRY(r.game_id, f.str("game_id", kMaxIdLength));
    LANSPREAD_TRY(r.version, f.str("version", kMaxVersionLength));
    LANSPREAD_TRY(r.digest, f.digest("digest"));
    return Request{std::move(r)};
  }
  return errc::unknown_type;
}

}  // namespace

result<Game> game_from_json(const json::value& v) noexcept {
  try {
    if (!v.is_object()) return errc::not_an_object;
    LANSPREAD_TRY(auto g, game_from(Fields{v.get_object()}));
    LANSPREAD_TRYV(validate_game(g));
    return g;
  } catch (const std::bad_alloc&) {
    return errc::too_many;
  }
}

result<Request> decode_request(std::string_view text) noexcept {
  try {
    LANSPREAD_TRY(auto v, parse(text));
    LANSPREAD_TRY(auto r, request_from(v.get_object()));
    LANSPREAD_TRYV(validate_request(r));
    return r;
  } catch (const std::bad_alloc&) {
    return errc::too_many;
  }
}

result<Response> decode_response(std::string_view text) noexcept {
  ResponseParser parser;
  LANSPREAD_TRYV(parser.write(text));
  return parser.finish();
}

bool answers(const Request& sent, const Response& response) noexcept {
  if (std::holds_alternative<Error>(response)) return true;
  struct Visitor {
    const Response& resp;
    bool operator()(const Ping&) const { return std::holds_alternative<Pong>(resp); }
    bool operator()(const ListGames&) const { return std::holds_alternative<Games>(resp); }
    bool operator()(const GetGame& r) const {
      const auto* g = std::get_if<Game>(&resp);
      return g != nullptr && g->id == r.id;
    }
    bool operator()(const GetGameFileData&) const { return std::holds_alternative<FileData>(resp); }
    bool operator()(const GetGameFileChunk& r) const {
      const auto* d = std::get_if<FileData>(&resp);
      return d != nullptr && d->size == r.length;
    }
    bool operator()(const GetGameFiles& r) const {
      const auto* d = std::get_if<FileData>(&resp);
      return d != nullptr && d->size == r.length;
    }
    bool operator()(const GetChunkMap& r) const {
      const auto* m = std::get_if<ChunkMap>(&resp);
      return m != nullptr && m->id == r.game_id && m->version == r.version && m->digest == r.digest;
    }
  };
  return std::visit(Visitor{response}, sent);
}

result<Response> decode_response_to(const Request& sent, std::string_view json) noexcept {
  ResponseParser parser(expected_responses(sent));
  LANSPREAD_TRYV(parser.write(json));
  LANSPREAD_TRY(auto r, parser.finish());
  if (!answers(sent, r)) return errc::unexpected_response;
  return r;
}

}  // namespace lanspread::proto
