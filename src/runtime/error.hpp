// Errors of the runtime module.
#pragma once

#include <boost/system/error_code.hpp>

namespace lanspread::runtime {

enum class errc {
  timeout = 1,         // a peer did not answer in time
  no_sources,          // no peer offers the game (at its latest version)
  peer_refused,        // the peer answered with an Error message
  manifests_disagree,  // peers with the same version describe different files
  games_dir_invalid,   // the games dir does not exist, is not a directory or not writable
  not_in_catalog,      // the id is not a catalog game
  shutting_down,       // the runtime is stopping
  peer_gone,           // the peer is no longer known (it left, or was never seen)
  backing_off,         // every address of the peer failed recently; it is retried later
  not_enough_space,    // the games dir's file system cannot hold the download
  bad_address,         // a peer address a user typed that cannot be dialled
};

const boost::system::error_category& runtime_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), runtime_category()};
}

}  // namespace lanspread::runtime

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::runtime::errc> : std::true_type {};
}  // namespace boost::system
