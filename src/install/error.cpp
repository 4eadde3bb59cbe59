#include "install/error.hpp"

#include <cerrno>
#include <string>

namespace lanspread::install {
namespace {

class InstallCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.install"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::cancelled:
        return "operation cancelled";
      case errc::disk_full:
        return "disk full; free space and retry";
      case errc::io_error:
        return "filesystem error";
      case errc::bad_root:
        return "game root is missing, not a directory, or a symlink";
      case errc::not_downloaded:
        return "game is not downloaded (no version.ini)";
      case errc::not_installed:
        return "game is not installed";
      case errc::installed:
        return "installed games cannot be removed; uninstall first";
      case errc::in_flight:
        return "an operation on this game is running; wait or cancel it";
      case errc::not_catalog_id:
        return "not a game id of the catalog";
      case errc::not_direct_child:
        return "game root is not a direct child of the games directory";
      case errc::recovery_needed:
        return "an earlier install operation was interrupted; run startup recovery first";
      case errc::foreign_directory:
        return "a reserved directory exists that Lanspread did not create; move it away";
      case errc::nothing_to_install:
        return "game root holds nothing to install";
      case errc::unsupported_archive:
        return "archive format or feature not supported";
      case errc::damaged_archive:
        return "archive is damaged or truncated; download it again";
      case errc::unsafe_entry:
        return "archive entry would write outside the install directory";
      case errc::too_many_entries:
        return "archive has too many entries (archive bomb)";
      case errc::not_enough_space:
        return "not enough free space to extract the archive; free space and retry";
      case errc::carry_conflict:
        return "a player file cannot be carried into the new version";
      case errc::oversized_entry:
        return "archive entry holds more data than its header declares (archive bomb or damage)";
    }
    return "unknown install error";
  }
};

}  // namespace

const boost::system::error_category& install_category() noexcept {
  static const InstallCategory category;
  return category;
}

boost::system::error_code error_from_errno(int err) noexcept {
  if (err == ENOSPC || err == EDQUOT) return make_error_code(errc::disk_full);
  return make_error_code(errc::io_error);
}

}  // namespace lanspread::install
