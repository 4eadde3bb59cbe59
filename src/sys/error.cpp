#include "sys/error.hpp"

#include <boost/system/system_error.hpp>
#include <boost/throw_exception.hpp>

#include <cstring>

namespace lanspread::sys {
namespace {

class SysCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.sys"; }
  std::string message(int ev) const override { return std::strerror(ev); }
};

}  // namespace

const boost::system::error_category& sys_category() noexcept {
  static const SysCategory category;
  return category;
}

std::string Error::message() const {
  std::string out = what;
  out += " '";
  out += path;
  out += "': ";
  out += reason.empty() ? std::string(std::strerror(code)) : reason;
  return out;
}

Error make_error(int code, std::string_view what, std::string_view path, std::string_view reason) {
  return Error{code, std::string(what), std::string(path), std::string(reason)};
}

void throw_exception_from_error(const Error& e, const boost::source_location& loc) {
  boost::throw_exception(boost::system::system_error(e.error_code(), e.message()), loc);
}

}  // namespace lanspread::sys
