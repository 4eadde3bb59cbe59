#include "test_support.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <locale.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace lanspread::install::test {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "lanspread-install-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) std::abort();
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

void write_file(const fs::path& p, std::string_view content) {
  fs::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  ASSERT_TRUE(out.good()) << p;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(dir, ec))) return out;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto rel = it->path().lexically_relative(dir).generic_string();
    if (it->is_symlink()) {
      out[rel] = "-> " + fs::read_symlink(it->path()).string();
    } else if (!it->is_directory()) {
      out[rel] = read_file(it->path());
    }
  }
  return out;
}

void write_archive(const fs::path& out, Format format, const std::vector<Entry>& entries,
                   const char* options, const char* passphrase) {
  // Names are given as UTF-8; the writer converts them from the thread's locale.
  static const locale_t utf8 = ::newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t{});
  const locale_t previous = ::uselocale(utf8);
  struct Restore {
    locale_t loc;
    ~Restore() { ::uselocale(loc); }
  } restore{previous};
  archive* a = archive_write_new();
  switch (format) {
    case Format::zip:
      archive_write_set_format_zip(a);
      break;
    case Format::seven_zip:
      archive_write_set_format_7zip(a);
      break;
    case Format::tar:
      archive_write_set_format_pax_restricted(a);
      break;
    case Format::tar_gz:
      archive_write_set_format_pax_restricted(a);
      archive_write_add_filter_gzip(a);
      break;
    case Format::tar_xz:
      archive_write_set_format_pax_restricted(a);
      archive_write_add_filter_xz(a);
      break;
  }
  if (options)
    ASSERT_EQ(archive_write_set_options(a, options), ARCHIVE_OK) << archive_error_string(a);
  if (passphrase) ASSERT_EQ(archive_write_set_passphrase(a, passphrase), ARCHIVE_OK);
  ASSERT_EQ(archive_write_open_filename(a, out.c_str()), ARCHIVE_OK) << archive_error_string(a);
  for (const auto& e : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_copy_pathname(entry, e.path.c_str());
    archive_entry_set_perm(entry, e.mode);
    archive_entry_set_mtime(entry, 1700000000, 0);
    switch (e.kind) {
      case Entry::Kind::file:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(
            entry, e.declared_size >= 0 ? e.declared_size : static_cast<long long>(e.data.size()));
        break;
      case Entry::Kind::dir:
        archive_entry_set_filetype(entry, AE_IFDIR);
        break;
      case Entry::Kind::symlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_copy_symlink(entry, e.data.c_str());
        break;
      case Entry::Kind::hardlink:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_copy_hardlink(entry, e.data.c_str());
        archive_entry_set_size(entry, 0);
        break;
      case Entry::Kind::chardev:
        archive_entry_set_filetype(entry, AE_IFCHR);
        archive_entry_set_rdev(entry, ::makedev(1, 3));
        break;
    }
    ASSERT_GE(archive_write_header(a, entry), ARCHIVE_WARN) << archive_error_string(a);
    if (e.kind == Entry::Kind::file && !e.data.empty()) {
      ASSERT_EQ(archive_write_data(a, e.data.data(), e.data.size()),
                static_cast<la_ssize_t>(e.declared_size >= 0
                                            ? std::min<long long>(e.declared_size, e.data.size())
                                            : e.data.size()))
          << archive_error_string(a);
    }
    archive_entry_free(entry);
  }
  ASSERT_EQ(archive_write_close(a), ARCHIVE_OK) << archive_error_string(a);
  archive_write_free(a);
}

void patch_zip_declared_size(const fs::path& path, std::uint32_t size) {
  std::string bytes = read_file(path);
  auto put = [&](std::size_t at) {
    ASSERT_LE(at + 4, bytes.size());
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<char>((size >> (8 * i)) & 0xff);
  };
  ASSERT_EQ(bytes.compare(0, 4, "PK\x03\x04"), 0) << "not a zip: " << path;
  put(22);  // local file header: uncompressed size
  const auto central = bytes.find("PK\x01\x02");
  ASSERT_NE(central, std::string::npos);
  put(central + 24);
  if (const auto descriptor = bytes.find("PK\x07\x08"); descriptor != std::string::npos) {
    put(descriptor + 12);
  }
  write_file(path, bytes);
}

void make_root(const fs::path& root, std::string_view version) {
  fs::create_directories(root);
  write_file(root / "version.ini", std::string(version) + "\n");
}

}  // namespace lanspread::install::test
