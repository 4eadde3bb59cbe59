// The shared catalog: which game ids exist. A game root whose name is not a catalog id is
// ignored. Format (docs/catalog.md): INI-style sections, one per game.
//
//   [openarena]
//   name = OpenArena
//   genre = Arena shooter
//   max_players = 16
//   description = Fast-paced arena shooter built on the id Tech 3 engine.
#pragma once

#include "library/error.hpp"

#include <boost/system/result.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <string_view>

namespace lanspread::library {

struct CatalogEntry {
  std::string id;
  std::string name;
  std::string description;
  std::string genre;
  unsigned max_players = 0;  // 0 = unknown
};

// A parse failure: where and why, ready for a person ("catalog.ini:12: unknown key 'foo'").
struct CatalogError {
  boost::system::error_code code;
  std::string source;  // file name or "<bundled>"
  std::size_t line = 0;
  std::string detail;

  std::string message() const;
};

class Catalog {
 public:
  Catalog() = default;

  // Parses catalog text. `source` names it in error messages.
  static boost::system::result<Catalog, CatalogError> parse(std::string_view text,
                                                            std::string_view source);
  static boost::system::result<Catalog, CatalogError> load_file(const std::filesystem::path& path);
  // The catalog compiled into the program (data/catalog.ini).
  static const Catalog& bundled();

  bool contains(std::string_view id) const { return entries_.find(id) != entries_.end(); }
  const CatalogEntry* find(std::string_view id) const;
  const std::map<std::string, CatalogEntry, std::less<>>& entries() const { return entries_; }
  std::size_t size() const { return entries_.size(); }

 private:
  std::map<std::string, CatalogEntry, std::less<>> entries_;
};

// Text of the bundled catalog (generated from data/catalog.ini at build time).
std::string_view bundled_catalog_text() noexcept;

}  // namespace lanspread::library
