#include "library/error.hpp"

#include <string>

namespace lanspread::library {
namespace {

class LibraryCategory final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "lanspread.library"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::catalog_unreadable:
        return "catalog file cannot be read";
      case errc::catalog_syntax:
        return "catalog line is not '[id]', 'key = value' or a comment";
      case errc::catalog_bad_id:
        return "catalog id must be 1-64 chars of a-z, 0-9, '-', '_'";
      case errc::catalog_duplicate_id:
        return "catalog id appears twice";
      case errc::catalog_unknown_key:
        return "unknown catalog key";
      case errc::catalog_bad_value:
        return "catalog value out of bounds";
      case errc::catalog_missing_name:
        return "catalog entry has no name";
      case errc::catalog_empty:
        return "catalog has no entries";
      case errc::games_dir_missing:
        return "games directory does not exist";
      case errc::games_dir_not_directory:
        return "games directory path is not a directory";
      case errc::games_dir_unreadable:
        return "games directory cannot be read";
      case errc::version_missing:
        return "version.ini holds no version";
      case errc::version_unreadable:
        return "version.ini cannot be read";
      case errc::file_changed:
        return "file changed while it was hashed";
      case errc::io_error:
        return "file read or write failed";
      case errc::cancelled:
        return "operation cancelled";
    }
    return "unknown library error";
  }
};

}  // namespace

const boost::system::error_category& library_category() noexcept {
  static const LibraryCategory category;
  return category;
}

}  // namespace lanspread::library
