// Errors of the install module: transactions, recovery, removal and unpacking.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <system_error>

namespace lanspread::install {

enum class errc {
  cancelled = 1,        // the caller's stop token fired; nothing was committed
  disk_full,            // no space left (ENOSPC/EDQUOT) while writing
  io_error,             // any other filesystem failure
  bad_root,             // the game root is missing, not a directory, or a symlink
  not_downloaded,       // no regular root-level version.ini
  not_installed,        // uninstall without local/
  installed,            // remove refused: local/ exists
  in_flight,            // remove refused: an operation on this game is running
  not_catalog_id,       // remove refused: id invalid or not in the catalog
  not_direct_child,     // remove refused: the root is not a direct child of the games dir
  recovery_needed,      // an intent log or a reserved directory is left from an earlier run
  foreign_directory,    // a reserved name is taken by a directory Lanspread cannot prove it owns
  nothing_to_install,   // the root holds no archive and no payload file
  unsupported_archive,  // format, filter, encryption or split style libarchive cannot read
  damaged_archive,      // the archive is truncated or corrupt
  unsafe_entry,         // absolute path, "..", escaping link, device node, reserved name
  too_many_entries,     // entry-count limit exceeded (archive bomb)
  not_enough_space,     // the archive declares or writes more than the free space allows
  carry_conflict,       // a player file cannot be carried because the new tree blocks its path
  oversized_entry,      // an entry wrote more bytes than its header declared (bomb or damage)
};

const boost::system::error_category& install_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), install_category()};
}

template <class T>
using result = boost::system::result<T>;

// ENOSPC/EDQUOT -> disk_full, anything else -> io_error.
boost::system::error_code error_from_errno(int err) noexcept;

}  // namespace lanspread::install

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::install::errc> : std::true_type {};
}  // namespace boost::system
