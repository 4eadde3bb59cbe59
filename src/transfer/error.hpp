// Errors of the transfer module.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace lanspread::transfer {

enum class errc {
  bad_path = 1,         // a manifest path that cannot be created safely (symlink on the way, ...)
  io_error,             // read or write failed (other than the causes below)
  chunk_corrupt,        // the bytes received do not match the manifest hash
  chunk_short,          // fewer bytes than the chunk's length
  cancelled,            // the caller cancelled
  sentinel_failed,      // version.ini could not be parked or committed
  disk_full,            // ENOSPC, EDQUOT
  too_many_open_files,  // EMFILE, ENFILE
  permission_denied,    // EACCES, EPERM, EROFS
  sources_failed,       // no peer could deliver the game (the failure reason says why)
  staging_blocked,      // .lanspread.staging exists but Lanspread cannot prove it made it
  staging_lost,         // a staged file of an update is gone: the swap cannot be completed
};

// The errc for a failed file operation's errno.
errc from_errno(int e) noexcept;

const boost::system::error_category& transfer_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), transfer_category()};
}

template <class T>
using result = boost::system::result<T>;

}  // namespace lanspread::transfer

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::transfer::errc> : std::true_type {};
}  // namespace boost::system
