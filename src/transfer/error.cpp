#include "transfer/error.hpp"

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
        return "writing the game files failed (is the disk full?)";
      case errc::chunk_corrupt:
        return "received data does not match its checksum";
      case errc::chunk_short:
        return "peer sent less data than asked for";
      case errc::cancelled:
        return "cancelled";
      case errc::sentinel_failed:
        return "version.ini could not be updated";
    }
    return "unknown transfer error";
  }
};

}  // namespace

const boost::system::error_category& transfer_category() noexcept {
  static const TransferCategory category;
  return category;
}

}  // namespace lanspread::transfer
