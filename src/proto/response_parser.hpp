// Streaming decoder of response messages (docs/protocol.md, "Decoding answers"). JSON text
// goes in piece by piece and a validated proto::Response comes out, without a JSON tree in
// between. Every count and size is checked as soon as the byte that breaks it arrives (files,
// chunk hashes, games, string lengths, nesting), so memory stays proportional to what a
// legitimate answer holds, and a hostile answer is refused at its first violation.
//
// Fields of response types the caller does not expect are skipped unread. Before `type` is
// known, a field is decoded for the expected type that uses it and must have that type's
// shape. A key may appear once per object. Sans-IO; not thread-safe; one document per parser.
#pragma once

#include "proto/error.hpp"
#include "proto/messages.hpp"

#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <variant>

namespace lanspread::proto {

// A set of Response alternatives, by their index in the variant.
class ResponseKinds {
 public:
  static constexpr ResponseKinds all() noexcept { return ResponseKinds(0x3f); }
  template <class... T>
  static constexpr ResponseKinds of() noexcept {
    return ResponseKinds(((1u << index_of<T>()) | ...));
  }
  constexpr bool has(std::size_t index) const noexcept { return (bits_ >> index & 1u) != 0; }
  template <class T>
  constexpr bool has() const noexcept {
    return has(index_of<T>());
  }

 private:
  constexpr explicit ResponseKinds(unsigned bits) noexcept : bits_(bits) {}
  template <class T, class... Ts>
  static constexpr std::size_t index_in(const std::variant<Ts...>*) noexcept {
    std::size_t i = 0;
    (void)((std::is_same_v<T, Ts> || (++i, false)) || ...);
    return i;
  }
  template <class T>
  static constexpr std::size_t index_of() noexcept {
    return index_in<T>(static_cast<const Response*>(nullptr));
  }
  unsigned bits_;
};

// What may answer `sent`: its own response type, or an Error.
ResponseKinds expected_responses(const Request& sent) noexcept;

class ResponseParser {
 public:
  explicit ResponseParser(ResponseKinds expected = ResponseKinds::all());
  ~ResponseParser();
  ResponseParser(ResponseParser&&) noexcept;
  ResponseParser& operator=(ResponseParser&&) noexcept;

  // Feeds the next piece of the JSON text. Fails at the first violation (bad_json for syntax,
  // depth and UTF-8; too_many, bad_value, bad_path, bad_hash, inconsistent, wrong_type for
  // content); after a failure the parser is spent.
  result<void> write(std::string_view piece) noexcept;
  // The text is complete: the decoded and validated response (missing_field, unknown_type,
  // unexpected_response, or any validation error otherwise).
  result<Response> finish() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lanspread::proto
