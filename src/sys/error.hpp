// Errors of the sys module: a failed system call, with what was attempted on which path.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <string_view>

namespace lanspread::sys {

// errno values; its messages are the system's ("No such file or directory").
const boost::system::error_category& sys_category() noexcept;

// One failed operation. `message()` says what failed on which path and why, e.g.
// "cannot open '/games/x/version.ini': Too many levels of symbolic links".
struct Error {
  int code = 0;        // errno (EFBIG for "too large", EINVAL for "not a regular file" ...)
  std::string what;    // "cannot open", "cannot sync directory", ...
  std::string path;    // the object, as the caller named it
  std::string reason;  // when set, replaces the system's text for `code`

  boost::system::error_code error_code() const noexcept { return {code, sys_category()}; }
  std::string message() const;
};

Error make_error(int code, std::string_view what, std::string_view path,
                 std::string_view reason = {});

template <class T>
using result = boost::system::result<T, Error>;

// For boost::system::result<T, Error>::value(): throws boost::system::system_error.
[[noreturn]] void throw_exception_from_error(const Error& e, const boost::source_location& loc);

}  // namespace lanspread::sys
