// Multi-volume archives are extracted as one archive, whichever naming their volumes use.
#include "install/libarchive_unpacker.hpp"
#include "install/transaction.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

namespace lanspread::install {
namespace {

using test::TempDir;

// The committed RAR set (src/install/test/fixtures/README.md says how it was made).
const fs::path kFixtures = LANSPREAD_INSTALL_FIXTURES;
const fs::path kRar4 = kFixtures / "rar4_volumes";

// What make_rar4_volumes.py stores in data\big.txt.
std::string big_txt() {
  const std::string line = "The quick brown fox jumps over the lazy dog. 0123456789\n";
  std::string out;
  while (out.size() < 10000) out += line;
  out.resize(10000);
  return out;
}

result<InstallReport> install(const fs::path& root, OperationContext& ctx) {
  static const LibarchiveUnpacker unpacker;
  InstallOptions opt;
  opt.unpacker = &unpacker;
  return install_game(root, opt, ctx);
}

std::vector<fs::path> volumes(const fs::path& dir, int count) {
  std::vector<fs::path> out;
  for (int i = 1; i <= count; ++i) out.push_back(dir / ("game.part" + std::to_string(i) + ".rar"));
  return out;
}

// Guards against a RAR set (RAR 4 and RAR 5) being extracted volume by volume (a file split
// across volumes then fails as truncated, and each volume is measured alone), and against a
// set with its last volume missing installing a zero-padded file.
TEST(MultiVolume, RarVolumeSetsExtractAsOneArchive) {
  for (const char* set : {"rar4_volumes", "rar5_volumes"}) {
    TempDir tmp;
    fs::create_directories(tmp.path() / "dest");
    OperationContext ctx;
    auto r =
        LibarchiveUnpacker().unpack({volumes(kFixtures / set, 4)}, tmp.path() / "dest", {}, ctx);
    ASSERT_TRUE(r) << set << ": " << ctx.detail;
    EXPECT_EQ(test::snapshot(tmp.path() / "dest"),
              (std::map<std::string, std::string>{{"readme.txt", "multi-volume test set\n"},
                                                  {"data/big.txt", big_txt()}}))
        << set;
    for (int present : {1, 3}) {
      const auto dest = tmp.path() / ("missing" + std::to_string(present));
      fs::create_directories(dest);
      auto cut = LibarchiveUnpacker().unpack({volumes(kFixtures / set, present)}, dest, {}, ctx);
      ASSERT_FALSE(cut) << set << " with " << present << " volumes";
      EXPECT_EQ(cut.error(), make_error_code(errc::damaged_archive)) << ctx.detail;
    }
  }
}

// Guards against the payload plan splitting a set into separate archives, for both RAR
// namings (x.partN.rar; x.rar, x.r00 ...) and for byte-split 7z (x.7z.001 ...): a game
// published that way installs completely.
TEST(MultiVolume, InstallGroupsEveryNaming) {
  struct Case {
    const char* name;
    std::vector<std::string> volumes;
  };
  const Case cases[] = {
      {"part", {"game.part1.rar", "game.part2.rar", "game.part3.rar", "game.part4.rar"}},
      {"old", {"game.rar", "game.r00", "game.r01", "game.r02"}},
      {"rar5", {"game.part01.rar", "game.part02.rar", "game.part03.rar", "game.part04.rar"}},
  };
  for (const auto& c : cases) {
    TempDir tmp;
    const auto root = tmp.path() / "game";
    test::make_root(root, "1");
    for (int i = 0; i < 4; ++i) {
      const auto set = c.volumes[0].ends_with("01.rar") ? kFixtures / "rar5_volumes" : kRar4;
      fs::copy_file(set / ("game.part" + std::to_string(i + 1) + ".rar"), root / c.volumes[i]);
    }
    OperationContext ctx;
    auto r = install(root, ctx);
    ASSERT_TRUE(r) << c.name << ": " << ctx.detail;
    EXPECT_EQ(r->archives, 1u) << c.name;
    EXPECT_EQ(test::read_file(root / "local" / "data" / "big.txt"), big_txt()) << c.name;
  }

  TempDir tmp;
  const auto root = tmp.path() / "game";
  test::make_root(root, "1");
  const std::string data(3u << 20, 'q');
  test::write_archive(tmp.path() / "whole.7z", test::Format::seven_zip,
                      {test::file("maps/q.bsp", data), test::file("q.exe", "MZ")});
  const std::string bytes = test::read_file(tmp.path() / "whole.7z");
  const std::size_t third = bytes.size() / 3 + 1;
  for (int i = 0; i < 3; ++i) {
    test::write_file(root / ("game.7z.00" + std::to_string(i + 1)), bytes.substr(i * third, third));
  }
  OperationContext ctx;
  auto r = install(root, ctx);
  ASSERT_TRUE(r) << ctx.detail;
  EXPECT_EQ(r->archives, 1u);
  EXPECT_EQ(test::read_file(root / "local" / "maps" / "q.bsp"), data);
  EXPECT_EQ(test::read_file(root / "local" / "q.exe"), "MZ");
}

}  // namespace
}  // namespace lanspread::install
