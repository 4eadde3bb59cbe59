#include "transfer/error.hpp"

#include <cerrno>
#include <string>

namespace lanspread::transfer {
namespace {

class TransferCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.transfer"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::bad_path:
        return "file path cannot be written safely inside the game folder";
      case errc::io_error:
        return "reading or writing the game files failed";
      case errc::chunk_corrupt:
        return "received data does not match its checksum";
      case errc::chunk_short:
        return "peer sent less data than asked for";
      case errc::cancelled:
        return "cancelled";
      case errc::sentinel_failed:
        return "version.ini could not be updated";
      case errc::disk_full:
        return "the disk is full; free some space and try again";
      case errc::too_many_open_files:
        return "too many open files; raise the open-file limit (ulimit -n)";
      case errc::permission_denied:
        return "no permission to write the game files";
      case errc::sources_failed:
        return "no peer could deliver the game";
      case errc::staging_blocked:
        return "the game folder holds a '.lanspread.staging' that Lanspread did not make; "
               "move it away";
      case errc::staging_lost:
        return "files of the staged update are missing; download the game again";
    }
    return "unknown transfer error";
  }
};

}  // namespace

errc from_errno(int e) noexcept {
  switch (e) {
    case ENOSPC:
    case EDQUOT:
      return errc::disk_full;
    case EMFILE:
    case ENFILE:
      return errc::too_many_open_files;
    case EACCES:
    case EPERM:
    case EROFS:
      return errc::permission_denied;
    case ELOOP:
    case ENOTDIR:
      return errc::bad_path;
    default:
      return errc::io_error;
  }
}

const boost::system::error_category& transfer_category() noexcept {
  static const TransferCategory category;
  return category;
}

}  // namespace lanspread::transfer
