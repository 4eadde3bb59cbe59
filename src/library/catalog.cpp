#include "library/catalog.hpp"

#include "proto/validate.hpp"

#include <fmt/format.h>
#include <boost/throw_exception.hpp>

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lanspread::library {

// result<T, CatalogError>::value() on an error throws this (never done inside the project).
[[noreturn]] void throw_exception_from_error(const CatalogError& e, const boost::source_location&) {
  boost::throw_exception(std::runtime_error(e.message()));
}

namespace {

constexpr std::size_t kMaxNameLength = 100;
constexpr std::size_t kMaxGenreLength = 60;
constexpr std::size_t kMaxDescriptionLength = 500;
constexpr unsigned kMaxPlayers = 1000;
constexpr std::uintmax_t kMaxCatalogBytes = 4 * 1024 * 1024;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool has_control_chars(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string CatalogError::message() const {
  if (line == 0)
    return fmt::format("{}: {}{}{}", source, code.message(), detail.empty() ? "" : ": ", detail);
  return fmt::format("{}:{}: {}{}{}", source, line, code.message(), detail.empty() ? "" : ": ",
                     detail);
}

const CatalogEntry* Catalog::find(std::string_view id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

boost::system::result<Catalog, CatalogError> Catalog::parse(std::string_view text,
                                                            std::string_view source) {
  auto error = [&](errc e, std::size_t line, std::string detail = {}) {
    return CatalogError{make_error_code(e), std::string(source), line, std::move(detail)};
  };
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM

  Catalog catalog;
  CatalogEntry* current = nullptr;
  std::size_t current_line = 0;
  auto close_section = [&]() -> std::optional<CatalogError> {
    if (current != nullptr && current->name.empty()) {
      return error(errc::catalog_missing_name, current_line, "[" + current->id + "]");
    }
    return std::nullopt;
  };

  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    const std::size_t nl = text.find('\n', pos);
    const std::string_view raw =
        text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    ++line_no;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (has_control_chars(line)) return error(errc::catalog_syntax, line_no, "control character");

    if (line.front() == '[') {
      if (line.back() != ']') return error(errc::catalog_syntax, line_no, std::string(line));
      if (auto e = close_section()) return *e;
      const std::string id(trim(line.substr(1, line.size() - 2)));
      if (!proto::validate_game_id(id)) return error(errc::catalog_bad_id, line_no, "'" + id + "'");
      auto [it, inserted] = catalog.entries_.try_emplace(id);
      if (!inserted) return error(errc::catalog_duplicate_id, line_no, "'" + id + "'");
      current = &it->second;
      current->id = id;
      current_line = line_no;
      continue;
    }

    const std::size_t eq = line.find('=');
    if (eq == std::string_view::npos)
      return error(errc::catalog_syntax, line_no, std::string(line));
    if (current == nullptr) {
      return error(errc::catalog_syntax, line_no, "key outside of a [game-id] section");
    }
    const std::string_view key = trim(line.substr(0, eq));
    const std::string_view value = trim(line.substr(eq + 1));
    auto bounded = [&](std::string& field, std::size_t max) -> std::optional<CatalogError> {
      if (value.empty() || value.size() > max) {
        return error(errc::catalog_bad_value, line_no,
                     fmt::format("'{}' must be 1-{} characters", key, max));
      }
      field = value;
      return std::nullopt;
    };
    std::optional<CatalogError> e;
    if (key == "name") {
      e = bounded(current->name, kMaxNameLength);
    } else if (key == "genre") {
      e = bounded(current->genre, kMaxGenreLength);
    } else if (key == "description") {
      e = bounded(current->description, kMaxDescriptionLength);
    } else if (key == "max_players") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc{} || end != value.data() + value.size() || n == 0 || n > kMaxPlayers) {
        e = error(errc::catalog_bad_value, line_no,
                  fmt::format("max_players must be a number from 1 to {}", kMaxPlayers));
      } else {
        current->max_players = n;
      }
    } else {
      e = error(errc::catalog_unknown_key, line_no, "'" + std::string(key) + "'");
    }
    if (e) return *e;
  }
  if (auto e = close_section()) return *e;
  if (catalog.entries_.empty()) return error(errc::catalog_empty, 0);
  return catalog;
}

boost::system::result<Catalog, CatalogError> Catalog::load_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec || size > kMaxCatalogBytes) {
    return CatalogError{make_error_code(errc::catalog_unreadable), source, 0,
                        ec ? ec.message() : "larger than 4 MiB"};
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) {
    return CatalogError{make_error_code(errc::catalog_unreadable), source, 0, "read failed"};
  }
  return parse(text.str(), source);
}

const Catalog& Catalog::bundled() {
  static const Catalog catalog = [] {
    auto parsed = parse(bundled_catalog_text(), "<bundled catalog>");
    // The bundled file is checked by a unit test; failing here is a build defect.
    if (!parsed) throw std::logic_error(parsed.error().message());
    return std::move(*parsed);
  }();
  return catalog;
}

}  // namespace lanspread::library
