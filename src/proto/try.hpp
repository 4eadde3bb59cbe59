// Early return on error for boost::system::result, shared by every module.
//   LANSPREAD_TRY(auto x, f());   // declares x = *f() or returns f().error()
//   LANSPREAD_TRY(s.field, f());  // assigns
//   LANSPREAD_TRYV(g());          // result<void>
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <utility>

namespace lanspread {
// Converts to any result<T> holding the error (also result<bool>, which cannot be built
// implicitly from an error_code).
struct Failure {
  boost::system::error_code ec;
  template <class T>
  operator boost::system::result<T>() const {  // NOLINT(google-explicit-constructor)
    return boost::system::result<T>(boost::system::in_place_error, ec);
  }
};
inline Failure fail(boost::system::error_code ec) {
  return Failure{ec};
}
}  // namespace lanspread

#define LANSPREAD_CONCAT_INNER(a, b) a##b
#define LANSPREAD_CONCAT(a, b) LANSPREAD_CONCAT_INNER(a, b)

#define LANSPREAD_TRY_IMPL(tmp, lhs, expr)         \
  auto&& tmp = (expr);                             \
  if (!tmp) return ::lanspread::fail(tmp.error()); \
  lhs = std::move(*tmp)

#define LANSPREAD_TRY(lhs, expr) \
  LANSPREAD_TRY_IMPL(LANSPREAD_CONCAT(lanspread_try_, __LINE__), lhs, expr)

#define LANSPREAD_TRYV(expr)                                                 \
  do {                                                                       \
    auto&& lanspread_tryv_ = (expr);                                         \
    if (!lanspread_tryv_) return ::lanspread::fail(lanspread_tryv_.error()); \
  } while (false)
