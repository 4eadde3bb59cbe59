// Errors of the library module: catalog, game roots, scan and index.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace lanspread::library {

enum class errc {
  catalog_unreadable = 1,   // catalog file cannot be opened or read
  catalog_syntax,           // a line is not a section, key = value, comment or blank
  catalog_bad_id,           // section name is not a valid game id
  catalog_duplicate_id,     // the same id appears twice
  catalog_unknown_key,      // key not part of the catalog format
  catalog_bad_value,        // value out of bounds (empty name, max_players not a number...)
  catalog_missing_name,     // an entry without a name
  catalog_empty,            // no entry at all
  games_dir_missing,        // the games directory does not exist
  games_dir_not_directory,  // the games directory path is not a directory
  games_dir_unreadable,     // the games directory cannot be listed
  version_missing,          // version.ini has no usable version string
  version_unreadable,       // version.ini cannot be read or is too large
  file_changed,             // a file changed while it was being hashed
  io_error,                 // read/write failure on a file in a game root
  cancelled,                // the caller cancelled the operation
};

const boost::system::error_category& library_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), library_category()};
}

}  // namespace lanspread::library

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::library::errc> : std::true_type {};
}  // namespace boost::system
