#include "app/error.hpp"

#include <fmt/format.h>

namespace lanspread::app {
namespace {

class AppCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.app"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::state_dir_unsafe:
        return "the state directory is not a private directory of this user; fix its owner "
               "or pass --state DIR";
      case errc::key_unreadable:
        return "cannot read the API key; delete the file to have a new key made";
      case errc::key_write_failed:
        return "cannot write the API key; check the state directory's permissions and space";
      case errc::random_failed:
        return "the system's random source failed";
    }
    return "unknown app error";
  }
};

}  // namespace

const boost::system::error_category& app_category() noexcept {
  static const AppCategory category;
  return category;
}

std::string AppError::message() const {
  return fmt::format("{}{}{}{}{}", object, object.empty() ? "" : ": ", code.message(),
                     detail.empty() ? "" : ": ", detail);
}

}  // namespace lanspread::app
