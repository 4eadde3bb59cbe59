// Errors of the app module (the daemon's own files: the API key and its state dir).
// An AppError carries the code, the object it concerns and the system's reason, ready for a
// person: "/home/a/.local/share/lanspread/state/api-key: cannot read the API key: ...".
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>

namespace lanspread::app {

enum class errc {
  state_dir_unsafe = 1,  // the state dir is not a directory we own, or cannot be made private
  key_unreadable,        // api-key exists but cannot be read or is not a key
  key_write_failed,      // api-key could not be written durably
  random_failed,         // the system's random source failed
};

const boost::system::error_category& app_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), app_category()};
}

struct AppError {
  boost::system::error_code code;
  std::string object;  // the path concerned
  std::string detail;  // the system's reason, if any

  std::string message() const;
};

template <class T>
using result = boost::system::result<T, AppError>;

}  // namespace lanspread::app

namespace boost::system {
template <>
struct is_error_code_enum<lanspread::app::errc> : std::true_type {};
}  // namespace boost::system
