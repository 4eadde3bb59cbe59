#include "proto/response_parser.hpp"

#include "proto/codec.hpp"
#include "proto/limits.hpp"
#include "proto/validate.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <array>
#include <new>
#include <vector>

namespace lanspread::proto {
namespace {
namespace json = boost::json;
using boost::system::error_code;

// Where a value goes: one key in one kind of object.
enum class Field : std::uint8_t {
  none,     // no key pending (array element, or a value already taken)
  unknown,  // a key this decoder skips, value and all
  // top level
  type,
  id,
  version,
  chunk_size,
  files,
  games,
  peer_id,
  library_rev,
  size,
  code,
  message,
  digest,
  chunks,
  bitmap,
  // a GameFileDescription
  path,
  file_size,
  is_dir,
  chunk_hashes,
  // a GameSummary
  game_id,
  game_version,
  game_size,
  downloaded,
  installed,
  partial_version,
};
static_assert(static_cast<unsigned>(Field::partial_version) < 32);

constexpr std::uint32_t bit(Field f) noexcept {
  return 1u << static_cast<unsigned>(f);
}

enum class Frame : std::uint8_t { top, files, file, hashes, games, summary, skip };

constexpr std::size_t kPong = 0, kGames = 1, kGame = 2, kFileData = 3, kError = 4, kChunkMap = 5;
constexpr std::size_t kAnyKind = 99;
constexpr std::array<std::string_view, 6> kTypeNames = {"Pong",     "Games", "Game",
                                                        "FileData", "Error", "ChunkMap"};

constexpr unsigned kind_bit(std::size_t kind) noexcept {
  return 1u << kind;
}
constexpr unsigned kAnyKindBits = 0;

struct Key {
  std::string_view name;
  Field field;
  unsigned kinds;  // the response types that own it (top level only); 0: every type
};
constexpr Key kTopKeys[] = {
    {"type", Field::type, kAnyKindBits},
    {"id", Field::id, kind_bit(kGame) | kind_bit(kChunkMap)},
    {"version", Field::version, kind_bit(kGame) | kind_bit(kChunkMap)},
    {"chunk_size", Field::chunk_size, kind_bit(kGame)},
    {"files", Field::files, kind_bit(kGame)},
    {"games", Field::games, kind_bit(kGames)},
    {"peer_id", Field::peer_id, kind_bit(kPong)},
    {"library_rev", Field::library_rev, kind_bit(kPong)},
    {"size", Field::size, kind_bit(kFileData)},
    {"code", Field::code, kind_bit(kError)},
    {"message", Field::message, kind_bit(kError)},
    {"digest", Field::digest, kind_bit(kChunkMap)},
    {"chunks", Field::chunks, kind_bit(kChunkMap)},
    {"bitmap", Field::bitmap, kind_bit(kChunkMap)},
};
constexpr Key kFileKeys[] = {{"path", Field::path, 0},
                             {"size", Field::file_size, 0},
                             {"is_dir", Field::is_dir, 0},
                             {"chunk_hashes", Field::chunk_hashes, 0}};
constexpr Key kSummaryKeys[] = {
    {"id", Field::game_id, 0},          {"version", Field::game_version, 0},
    {"size", Field::game_size, 0},      {"downloaded", Field::downloaded, 0},
    {"installed", Field::installed, 0}, {"partial_version", Field::partial_version, 0}};
// Longest key any of the tables holds; longer keys are unknown without being stored.
constexpr std::size_t kMaxKnownKey = 16;

// The longest string each string field may hold (a longer one is refused at its first
// extra byte); 0 for fields that are not strings.
constexpr std::size_t string_cap(Field f) noexcept {
  switch (f) {
    case Field::type:
    case Field::code:
      return 64;
    case Field::id:
    case Field::game_id:
      return kMaxIdLength;
    case Field::version:
    case Field::game_version:
    case Field::partial_version:
      return kMaxVersionLength;
    case Field::digest:
      return 64;
    case Field::bitmap:
      return 2 * kMaxChunkMapBytes;
    case Field::peer_id:
      return kMaxPeerIdLength;
    case Field::message:
      return kMaxMessageLength;
    case Field::path:
      return kMaxPathLength;
    default:
      return 0;
  }
}

constexpr bool is_number(Field f) noexcept {
  return f == Field::chunk_size || f == Field::library_rev || f == Field::size ||
         f == Field::file_size || f == Field::game_size || f == Field::chunks;
}
constexpr bool is_bool(Field f) noexcept {
  return f == Field::is_dir || f == Field::downloaded || f == Field::installed;
}

// The SAX handler: builds the response's fields in place, refusing at the first violation.
class Handler {
 public:
  static constexpr std::size_t max_object_size = 256;
  static constexpr std::size_t max_array_size = std::size_t(-1);  // counted per field below
  static constexpr std::size_t max_key_size = 256;
  static constexpr std::size_t max_string_size = kMaxManifestFrame;

  explicit Handler(ResponseKinds expected) : expected_(expected) {}

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
  bool on_number_part(json::string_view, error_code&) { return true; }

  bool on_object_begin(error_code& ec) {
    if (stack_.empty()) return push(Frame::top);
    switch (stack_.back()) {
      case Frame::skip:
        return push(Frame::skip);
      case Frame::files:
        if (files_.size() >= kMaxFilesPerGame) return fail(ec, errc::too_many);
        files_.emplace_back();
        item_seen_ = 0;
        return push(Frame::file);
      case Frame::games:
        if (games_.size() >= kMaxGames) return fail(ec, errc::too_many);
        games_.emplace_back();
        item_seen_ = 0;
        return push(Frame::summary);
      case Frame::hashes:
        return fail(ec, errc::wrong_type);
      default:
        return container_in_object(ec, Frame::skip);
    }
  }

  bool on_object_end(std::size_t, error_code& ec) {
    const Frame f = pop();
    if (f == Frame::file) return file_done(ec);
    if (f == Frame::summary) {
      constexpr auto all = bit(Field::game_id) | bit(Field::game_version) | bit(Field::game_size) |
                           bit(Field::downloaded) | bit(Field::installed);
      if ((item_seen_ & all) != all) return fail(ec, errc::missing_field);
    }
    return true;
  }

  bool on_array_begin(error_code& ec) {
    if (stack_.empty()) return fail(ec, errc::not_an_object);
    switch (stack_.back()) {
      case Frame::skip:
        return push(Frame::skip);
      case Frame::top:
        if (field_ == Field::files) return push(Frame::files);
        if (field_ == Field::games) return push(Frame::games);
        return container_in_object(ec, Frame::skip);
      case Frame::file:
        if (field_ == Field::chunk_hashes) return push(Frame::hashes);
        return container_in_object(ec, Frame::skip);
      case Frame::summary:
        return container_in_object(ec, Frame::skip);
      default:  // elements of files, games and hashes have another shape
        return fail(ec, errc::wrong_type);
    }
  }

  bool on_array_end(std::size_t, error_code&) {
    pop();
    return true;
  }

  bool on_key_part(json::string_view s, std::size_t n, error_code&) {
    if (n <= kMaxKnownKey) key_.append(s.data(), s.size());
    return true;
  }

  bool on_key(json::string_view s, std::size_t n, error_code& ec) {
    if (n <= kMaxKnownKey) key_.append(s.data(), s.size());
    const bool known_length = n <= kMaxKnownKey;
    field_ = Field::unknown;
    std::uint32_t* seen = nullptr;
    switch (stack_.back()) {
      case Frame::top:
        if (known_length) field_ = lookup(kTopKeys, true);
        seen = &seen_;
        break;
      case Frame::file:
        if (known_length) field_ = lookup(kFileKeys, false);
        seen = &item_seen_;
        break;
      case Frame::summary:
        if (known_length) field_ = lookup(kSummaryKeys, false);
        seen = &item_seen_;
        break;
      default:
        break;
    }
    key_.clear();
    if (field_ == Field::unknown || seen == nullptr) return true;
    if ((*seen & bit(field_)) != 0) return fail(ec, errc::inconsistent);  // a key twice
    *seen |= bit(field_);
    return true;
  }

  bool on_string_part(json::string_view s, std::size_t n, error_code& ec) {
    return string_piece(s, n, false, ec);
  }
  bool on_string(json::string_view s, std::size_t n, error_code& ec) {
    return string_piece(s, n, true, ec);
  }

  bool on_int64(std::int64_t i, json::string_view, error_code& ec) {
    if (const Slot at = slot(ec); at != Slot::take) return scalar_skipped(at);
    if (!is_number(field_)) return fail(ec, errc::wrong_type);
    if (i < 0) return fail(ec, errc::bad_value);
    return number(static_cast<std::uint64_t>(i), ec);
  }
  bool on_uint64(std::uint64_t u, json::string_view, error_code& ec) {
    if (const Slot at = slot(ec); at != Slot::take) return scalar_skipped(at);
    if (!is_number(field_)) return fail(ec, errc::wrong_type);
    return number(u, ec);
  }
  bool on_double(double, json::string_view, error_code& ec) {
    if (const Slot at = slot(ec); at != Slot::take) return scalar_skipped(at);
    return fail(ec, errc::wrong_type);  // fractions and numbers beyond 2^64-1
  }
  bool on_bool(bool b, error_code& ec) {
    if (const Slot at = slot(ec); at != Slot::take) return scalar_skipped(at);
    if (!is_bool(field_)) return fail(ec, errc::wrong_type);
    if (field_ == Field::is_dir) {
      files_.back().is_dir = b;
      if (b && !files_.back().chunk_hashes.empty()) return fail(ec, errc::inconsistent);
    } else if (field_ == Field::downloaded) {
      games_.back().downloaded = b;
    } else {
      games_.back().installed = b;
    }
    field_ = Field::none;
    return true;
  }
  bool on_null(error_code& ec) {
    if (const Slot at = slot(ec); at != Slot::take) return scalar_skipped(at);
    return fail(ec, errc::wrong_type);
  }

  // The whole document has been read: the response its `type` names.
  result<Response> build() {
    if ((seen_ & bit(Field::type)) == 0) return errc::missing_field;
    auto need = [&](std::initializer_list<Field> fields) {
      for (Field f : fields)
        if ((seen_ & bit(f)) == 0) return false;
      return true;
    };
    switch (kind_) {
      case kPong:
        if (!need({Field::peer_id, Field::library_rev})) return errc::missing_field;
        return Response{Pong{std::move(peer_id_), library_rev_}};
      case kGames:
        if (!need({Field::games})) return errc::missing_field;
        return Response{Games{std::move(games_)}};
      case kGame:
        if (!need({Field::id, Field::version, Field::chunk_size, Field::files}))
          return errc::missing_field;
        return Response{Game{std::move(id_), std::move(version_), chunk_size_, std::move(files_)}};
      case kFileData:
        if (!need({Field::size})) return errc::missing_field;
        return Response{FileData{size_}};
      case kChunkMap:
        if (!need({Field::id, Field::version, Field::digest, Field::chunks, Field::bitmap}))
          return errc::missing_field;
        return Response{
            ChunkMap{std::move(id_), std::move(version_), digest_, chunks_, std::move(bitmap_)}};
      default:
        if (!need({Field::code, Field::message})) return errc::missing_field;
        // A code from a newer peer that we do not know is still an error: internal.
        return Response{Error{wire_error_code_from_string(code_).value_or(WireErrorCode::internal),
                              std::move(message_)}};
    }
  }

 private:
  static bool fail(error_code& ec, errc e) {
    ec = make_error_code(e);
    return false;
  }
  bool push(Frame f) {
    stack_.push_back(f);
    field_ = Field::none;
    return true;
  }
  Frame pop() {
    const Frame f = stack_.back();
    stack_.pop_back();
    field_ = Field::none;
    return f;
  }
  // An object or array as the value of a key: skipped when the key is unknown, else the
  // key wanted another shape.
  bool container_in_object(error_code& ec, Frame skip) {
    if (field_ == Field::unknown) return push(skip);
    return fail(ec, errc::wrong_type);
  }

  template <std::size_t N>
  Field lookup(const Key (&table)[N], bool top) const {
    for (const auto& k : table) {
      if (k.name != key_) continue;
      if (!top) return k.field;
      if (k.kinds == kAnyKindBits) return k.field;
      // Once the type is known only its fields count; before, those of any expected type.
      bool wanted = false;
      if (kind_ != kAnyKind) {
        wanted = (k.kinds & kind_bit(kind_)) != 0;
      } else {
        for (std::size_t kind = 0; kind < kTypeNames.size(); ++kind)
          wanted |= (k.kinds & kind_bit(kind)) != 0 && expected_.has(kind);
      }
      return wanted ? k.field : Field::unknown;
    }
    return Field::unknown;
  }

  // Where a scalar value (or a piece of a string) goes.
  enum class Slot { take, skip, refuse };
  Slot slot(error_code& ec) const {
    if (stack_.empty()) return fail(ec, errc::not_an_object), Slot::refuse;
    switch (stack_.back()) {
      case Frame::skip:
        return Slot::skip;
      case Frame::files:
      case Frame::games:
      case Frame::hashes:
        return fail(ec, errc::wrong_type), Slot::refuse;
      default:
        return field_ == Field::unknown ? Slot::skip : Slot::take;
    }
  }
  // A scalar that was skipped or refused: done with the key it followed.
  bool scalar_skipped(Slot at) {
    if (at == Slot::refuse) return false;
    if (stack_.back() != Frame::skip) field_ = Field::none;
    return true;
  }

  bool string_piece(json::string_view s, std::size_t n, bool last, error_code& ec) {
    if (!stack_.empty() && stack_.back() == Frame::hashes) return hash_piece(s, n, last, ec);
    if (const Slot at = slot(ec); at != Slot::take)
      return last ? scalar_skipped(at) : at != Slot::refuse;
    const std::size_t cap = string_cap(field_);
    if (cap == 0) return fail(ec, errc::wrong_type);
    if (n > cap) return fail(ec, field_ == Field::path ? errc::bad_path : errc::bad_value);
    text_.append(s.data(), s.size());
    if (!last) return true;
    std::string value = std::move(text_);
    text_.clear();
    const Field f = field_;
    field_ = Field::none;
    switch (f) {
      case Field::type:
        return set_type(value, ec);
      case Field::id:
        id_ = std::move(value);
        return true;
      case Field::version:
        version_ = std::move(value);
        return true;
      case Field::peer_id:
        peer_id_ = std::move(value);
        return true;
      case Field::code:
        code_ = std::move(value);
        return true;
      case Field::message:
        message_ = std::move(value);
        return true;
      case Field::digest: {
        auto d = Sha256::from_hex(value);
        if (!d) return fail(ec, errc::bad_hash);
        digest_ = *d;
        return true;
      }
      case Field::bitmap: {
        auto bytes = bytes_from_hex(value);
        if (!bytes) return fail(ec, errc::bad_value);
        bitmap_ = std::move(*bytes);
        return true;
      }
      case Field::partial_version:
        games_.back().partial_version = std::move(value);
        return true;
      case Field::path:
        if (auto ok = validate_relative_path(value); !ok) return fail(ec, errc::bad_path);
        files_.back().path = std::move(value);
        return true;
      case Field::game_id:
        if (auto ok = validate_game_id(value); !ok) return fail(ec, errc::bad_id);
        games_.back().id = std::move(value);
        return true;
      default:  // game_version
        games_.back().version = std::move(value);
        return true;
    }
  }

  bool set_type(std::string_view name, error_code& ec) {
    for (std::size_t k = 0; k < kTypeNames.size(); ++k) {
      if (kTypeNames[k] != name) continue;
      if (!expected_.has(k)) return fail(ec, errc::unexpected_response);
      kind_ = k;
      return true;
    }
    return fail(ec, errc::unknown_type);
  }

  bool hash_piece(json::string_view s, std::size_t n, bool last, error_code& ec) {
    if (n > hex_.size()) return fail(ec, errc::bad_hash);
    std::copy(s.begin(), s.end(), hex_.begin() + static_cast<std::ptrdiff_t>(n - s.size()));
    if (!last) return true;
    if (n != hex_.size()) return fail(ec, errc::bad_hash);
    auto digest = Sha256::from_hex(std::string_view(hex_.data(), hex_.size()));
    if (!digest) return fail(ec, errc::bad_hash);
    if (total_hashes_ >= kMaxChunkHashesPerGame) return fail(ec, errc::too_many);
    auto& file = files_.back();
    if (file.is_dir) return fail(ec, errc::inconsistent);
    if (file.chunk_hashes.size() + 1 > chunk_bound(file)) return fail(ec, errc::inconsistent);
    file.chunk_hashes.push_back(*digest);
    ++total_hashes_;
    return true;
  }

  // How many hashes `file` may have with what is known so far: its size (else the largest
  // file) in chunks of the manifest's chunk size (else the smallest).
  std::uint64_t chunk_bound(const GameFileDescription& file) const {
    const std::uint64_t cs = (seen_ & bit(Field::chunk_size)) != 0 ? chunk_size_ : kMinChunkSize;
    const std::uint64_t size = (item_seen_ & bit(Field::file_size)) != 0 ? file.size : kMaxFileSize;
    return chunk_count(size, cs);
  }

  bool number(std::uint64_t u, error_code& ec) {
    const Field f = field_;
    field_ = Field::none;
    switch (f) {
      case Field::chunk_size:
        if (u < kMinChunkSize || u > kMaxChunkSize) return fail(ec, errc::bad_value);
        chunk_size_ = u;
        return true;
      case Field::library_rev:
        library_rev_ = u;
        return true;
      case Field::chunks:
        if (u > kMaxChunkHashesPerGame) return fail(ec, errc::too_many);
        chunks_ = u;
        return true;
      case Field::size:
        size_ = u;
        return true;
      case Field::file_size: {
        if (u > kMaxFileSize) return fail(ec, errc::bad_value);
        auto& file = files_.back();
        file.size = u;
        if (file.chunk_hashes.size() > chunk_bound(file)) return fail(ec, errc::inconsistent);
        return true;
      }
      default:  // game_size
        games_.back().size = u;
        return true;
    }
  }

  bool file_done(error_code& ec) {
    constexpr auto all =
        bit(Field::path) | bit(Field::file_size) | bit(Field::is_dir) | bit(Field::chunk_hashes);
    if ((item_seen_ & all) != all) return fail(ec, errc::missing_field);
    const auto& file = files_.back();
    if (file.is_dir && file.size != 0) return fail(ec, errc::inconsistent);
    // With the chunk size known the count must be exact; else validation checks it at the end.
    if (!file.is_dir && (seen_ & bit(Field::chunk_size)) != 0 &&
        file.chunk_hashes.size() != chunk_count(file.size, chunk_size_))
      return fail(ec, errc::inconsistent);
    return true;
  }

  ResponseKinds expected_;
  std::size_t kind_ = kAnyKind;  // from `type`, once read
  std::vector<Frame> stack_;     // as deep as the parser allows (kMaxJsonDepth)
  Field field_ = Field::none;
  std::string key_;
  std::string text_;
  std::array<char, 64> hex_{};
  std::uint32_t seen_ = 0;       // top-level fields present
  std::uint32_t item_seen_ = 0;  // fields of the file or summary being read
  std::size_t total_hashes_ = 0;

  std::string id_, version_, peer_id_, code_, message_;
  std::uint64_t chunk_size_ = 0, library_rev_ = 0, size_ = 0, chunks_ = 0;
  Sha256 digest_;
  std::vector<std::uint8_t> bitmap_;
  std::vector<GameFileDescription> files_;
  std::vector<GameSummary> games_;
};

json::parse_options options() {
  json::parse_options o;
  o.max_depth = kMaxJsonDepth;
  return o;
}

// Errors of the JSON syntax itself (and its depth and UTF-8 checks) are bad_json; the
// handler's own refusals keep their reason.
boost::system::error_code reason(const error_code& ec) {
  if (ec.category() == proto_category()) return ec;
  return make_error_code(errc::bad_json);
}

}  // namespace

ResponseKinds expected_responses(const Request& sent) noexcept {
  struct Visitor {
    ResponseKinds operator()(const Ping&) const { return ResponseKinds::of<Pong, Error>(); }
    ResponseKinds operator()(const ListGames&) const { return ResponseKinds::of<Games, Error>(); }
    ResponseKinds operator()(const GetGame&) const { return ResponseKinds::of<Game, Error>(); }
    ResponseKinds operator()(const GetGameFileData&) const {
      return ResponseKinds::of<FileData, Error>();
    }
    ResponseKinds operator()(const GetGameFileChunk&) const {
      return ResponseKinds::of<FileData, Error>();
    }
    ResponseKinds operator()(const GetGameFiles&) const {
      return ResponseKinds::of<FileData, Error>();
    }
    ResponseKinds operator()(const GetChunkMap&) const {
      return ResponseKinds::of<ChunkMap, Error>();
    }
  };
  return std::visit(Visitor{}, sent);
}

struct ResponseParser::Impl {
  explicit Impl(ResponseKinds expected) : parser(options(), expected) {}
  json::basic_parser<Handler> parser;
  boost::system::error_code failed;
};

ResponseParser::ResponseParser(ResponseKinds expected) : impl_(std::make_unique<Impl>(expected)) {}
ResponseParser::~ResponseParser() = default;
ResponseParser::ResponseParser(ResponseParser&&) noexcept = default;
ResponseParser& ResponseParser::operator=(ResponseParser&&) noexcept = default;

result<void> ResponseParser::write(std::string_view piece) noexcept {
  if (impl_->failed) return impl_->failed;
  try {
    error_code ec;
    const std::size_t used = impl_->parser.write_some(true, piece.data(), piece.size(), ec);
    if (ec) {
      impl_->failed = reason(ec);
    } else if (used != piece.size()) {
      impl_->failed = make_error_code(errc::bad_json);  // bytes after the document
    }
  } catch (const std::bad_alloc&) {
    impl_->failed = make_error_code(errc::too_many);
  }
  if (impl_->failed) return impl_->failed;
  return {};
}

result<Response> ResponseParser::finish() noexcept {
  if (impl_->failed) return impl_->failed;
  try {
    error_code ec;
    const char none = 0;
    impl_->parser.write_some(false, &none, 0, ec);
    if (ec) impl_->failed = reason(ec);
    if (!impl_->failed && !impl_->parser.done()) impl_->failed = make_error_code(errc::bad_json);
    if (impl_->failed) return impl_->failed;
    auto r = impl_->parser.handler().build();
    if (!r) return impl_->failed = r.error();
    if (auto ok = validate_response(*r); !ok) return impl_->failed = ok.error();
    return r;
  } catch (const std::bad_alloc&) {
    return impl_->failed = make_error_code(errc::too_many);
  }
}

}  // namespace lanspread::proto
