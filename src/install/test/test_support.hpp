// Helpers shared by the install tests: temp dirs, file trees and archives built with
// libarchive's writer (so hostile entries can be crafted byte for byte).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace lanspread::install {
namespace fs = std::filesystem;
}

namespace lanspread::install::test {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

void write_file(const fs::path& p, std::string_view content);
std::string read_file(const fs::path& p);

// Every non-directory under `dir`: relative path -> content ("-> target" for symlinks).
// Empty when `dir` does not exist.
std::map<std::string, std::string> snapshot(const fs::path& dir);

struct Entry {
  enum class Kind { file, dir, symlink, hardlink, chardev };
  std::string path;
  std::string data;  // file contents, or link target
  Kind kind = Kind::file;
  unsigned mode = 0644;
  long long declared_size = -1;  // tar only: a size header that differs from the data
};

inline Entry file(std::string path, std::string data) {
  return {std::move(path), std::move(data)};
}
inline Entry dir(std::string path) {
  return {std::move(path), {}, Entry::Kind::dir, 0755};
}
inline Entry symlink(std::string path, std::string target) {
  return {std::move(path), std::move(target), Entry::Kind::symlink, 0777};
}
inline Entry hardlink(std::string path, std::string target) {
  return {std::move(path), std::move(target), Entry::Kind::hardlink};
}

enum class Format { zip, seven_zip, tar, tar_gz, tar_xz };

// Writes an archive of `entries` in `format` to `out`; aborts the test on writer errors.
void write_archive(const fs::path& out, Format format, const std::vector<Entry>& entries,
                   const char* options = nullptr, const char* passphrase = nullptr);

// Rewrites the uncompressed size that the zip at `path` declares for its first entry (local
// header, central directory and data descriptor), leaving the data as it is: a zip that lies.
void patch_zip_declared_size(const fs::path& path, std::uint32_t size);

// A game root with version.ini and the given archives/loose files (relative path -> bytes).
void make_root(const fs::path& root, std::string_view version);

}  // namespace lanspread::install::test
