// Disk-full behaviour on a real, small tmpfs mounted by the test (needs root).
#include "install/libarchive_unpacker.hpp"
#include "install/transaction.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

namespace lanspread::install {
namespace {

using test::TempDir;

// Mounts a tmpfs of `size` at a fresh directory and always unmounts it, even when an
// assertion fails.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const char* size) : mnt_(tmp_.path() / "mnt") {
    fs::create_directories(mnt_);
    const std::string opts = std::string("size=") + size + ",mode=0755";
    mounted_ = ::mount("tmpfs", mnt_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0;
    error_ = mounted_ ? "" : std::strerror(errno);
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(mnt_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  const fs::path& path() const { return mnt_; }

 private:
  TempDir tmp_;
  fs::path mnt_;
  bool mounted_ = false;
  std::string error_;
};

// Guards against a disk filling up during extraction corrupting the installed game, leaving
// a partial staging tree, or being reported as something other than "disk full".
TEST(DiskFull, UpdateFailsCleanlyAndKeepsOldLocal) {
  SmallTmpfs disk("8m");
  ASSERT_TRUE(disk.mounted()) << "mount tmpfs: " << disk.error();
  const auto root = disk.path() / "game";
  test::make_root(root, "1");
  test::write_archive(
      root / "game.zip", test::Format::zip,
      {test::file("game.exe", "v1"), test::file("data.bin", std::string(1 << 20, 'd'))});
  LibarchiveUnpacker unpacker;
  InstallOptions opt;
  opt.unpacker = &unpacker;
  // This archive is meant to expand beyond the disk: without the free-space check, to reach
  // the filesystem's own ENOSPC (another writer can always fill the disk meanwhile).
  opt.limits.check_free_space = false;
  OperationContext ctx;
  ASSERT_TRUE(install_game(root, opt, ctx)) << ctx.detail;
  test::write_file(root / "local" / "save.sav", "progress");
  const auto before = test::snapshot(root / "local");

  fs::remove(root / "game.zip");
  test::write_file(root / "version.ini", "2\n");
  test::write_archive(
      root / "game.zip", test::Format::zip,
      {test::file("game.exe", "v2"), test::file("huge.bin", std::string(32 << 20, 'z'))});
  auto r = install_game(root, opt, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::disk_full)) << ctx.detail;
  EXPECT_NE(ctx.detail.find("game.zip"), std::string::npos) << ctx.detail;
  EXPECT_EQ(test::snapshot(root / "local"), before);
  EXPECT_FALSE(fs::exists(root / ".local.installing"));
  EXPECT_FALSE(fs::exists(root / ".lanspread.json"));

  // A fresh install that does not fit fails the same way and leaves nothing behind.
  fs::remove_all(root / "local");
  r = install_game(root, opt, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::disk_full)) << ctx.detail;
  EXPECT_FALSE(fs::exists(root / "local"));
  EXPECT_FALSE(fs::exists(root / ".local.installing"));
  EXPECT_FALSE(fs::exists(root / ".lanspread.json"));
}

// statvfs of a mount: bytes in use.
std::uint64_t used_bytes(const fs::path& mnt) {
  struct statvfs vfs {};
  if (::statvfs(mnt.c_str(), &vfs) != 0) return ~0ull;
  return static_cast<std::uint64_t>(vfs.f_blocks - vfs.f_bfree) * vfs.f_frsize;
}

// Guards against an archive that lies about its sizes filling the disk: an entry declaring
// 1 KiB over 64 MiB of data is stopped at 1 KiB, and the disk stays as empty as it was.
TEST(DiskFull, LyingArchiveIsStoppedWithoutFillingTheDisk) {
  SmallTmpfs disk("16m");
  ASSERT_TRUE(disk.mounted()) << "mount tmpfs: " << disk.error();
  TempDir src;
  const auto archive = src.path() / "liar.zip";
  test::write_archive(archive, test::Format::zip,
                      {test::file("zeros.bin", std::string(64u << 20, '\0'))});
  test::patch_zip_declared_size(archive, 1024);
  const auto dest = disk.path() / "dest";
  fs::create_directories(dest);
  const auto before = used_bytes(disk.path());
  UnpackLimits limits;
  limits.reserve_bytes = 1u << 20;  // the default reserve is larger than this whole disk
  OperationContext ctx;
  auto r = LibarchiveUnpacker().unpack({{archive}}, dest, limits, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::oversized_entry)) << ctx.detail;
  EXPECT_LE(used_bytes(disk.path()), before + (64u << 10));
}

// Guards against starting an extraction that cannot fit: an archive whose declared size is
// above the free space (minus the reserve) is refused before its first byte, as
// not_enough_space, leaving the disk untouched.
TEST(DiskFull, ArchiveLargerThanTheFreeSpaceIsRefusedBeforeWriting) {
  SmallTmpfs disk("16m");
  ASSERT_TRUE(disk.mounted()) << "mount tmpfs: " << disk.error();
  const auto root = disk.path() / "game";
  test::make_root(root, "1");
  test::write_archive(
      root / "game.zip", test::Format::zip,
      {test::file("small.txt", "fits"), test::file("zeros.bin", std::string(32u << 20, '\0'))});
  const auto before = used_bytes(disk.path());
  LibarchiveUnpacker unpacker;
  InstallOptions opt;
  opt.unpacker = &unpacker;
  opt.limits.reserve_bytes = 1u << 20;
  OperationContext ctx;
  auto r = install_game(root, opt, ctx);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::not_enough_space)) << ctx.detail;
  EXPECT_NE(ctx.detail.find("zeros.bin"), std::string::npos) << ctx.detail;
  EXPECT_LE(used_bytes(disk.path()), before + (64u << 10));
  EXPECT_FALSE(fs::exists(root / "local"));
  EXPECT_FALSE(fs::exists(root / ".local.installing"));
}

}  // namespace
}  // namespace lanspread::install
