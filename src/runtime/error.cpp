#include "runtime/error.hpp"

#include <string>

namespace lanspread::runtime {
namespace {

class RuntimeCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.runtime"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::timeout:
        return "peer did not answer in time";
      case errc::no_sources:
        return "no peer offers this game";
      case errc::peer_refused:
        return "peer refused the request";
      case errc::manifests_disagree:
        return "peers disagree about the game's files";
      case errc::games_dir_invalid:
        return "games directory must be an existing, readable and writable directory";
      case errc::not_in_catalog:
        return "not a catalog game";
      case errc::shutting_down:
        return "shutting down";
      case errc::peer_gone:
        return "the peer has left the network";
      case errc::not_enough_space:
        return "not enough free space in the games directory";
      case errc::backing_off:
        return "the peer did not answer at any of its addresses lately; it is tried again later";
      case errc::bad_address:
        return "not a peer address that can be dialled (HOST or HOST:PORT, port 1024 or above)";
    }
    return "unknown runtime error";
  }
};

}  // namespace

const boost::system::error_category& runtime_category() noexcept {
  static const RuntimeCategory category;
  return category;
}

}  // namespace lanspread::runtime
