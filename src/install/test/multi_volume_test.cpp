// Multi-volume archives are extracted as one archive, whichever naming their volumes use.
#include "install/libarchive_unpacker.hpp"
#include "install/transaction.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

namespace lanspread::install {
namespace {

using test::TempDir;

// The committed RAR set (src/install/test/fixtures/README.md says how it was made).
const fs::path kRar4 = fs::path(LANSPREAD_INSTALL_FIXTURES) / "rar4_volumes";

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

// Guards against a RAR set being extracted volume by volume (a file split across volumes
// then fails as truncated, and each volume is measured alone).
TEST(MultiVolume, Rar4PartVolumesExtractAsOneArchive) {
  TempDir tmp;
  ArchiveVolumes av;
  for (int i = 1; i <= 4; ++i)
    av.volumes.push_back(kRar4 / ("game.part" + std::to_string(i) + ".rar"));
  fs::create_directories(tmp.path() / "dest");
  OperationContext ctx;
  auto r = LibarchiveUnpacker().unpack(av, tmp.path() / "dest", {}, ctx);
  ASSERT_TRUE(r) << ctx.detail;
  EXPECT_EQ(test::snapshot(tmp.path() / "dest"),
            (std::map<std::string, std::string>{{"readme.txt", "multi-volume test set\n"},
                                                {"data/big.txt", big_txt()}}));
  // One volume alone is a damaged archive, not a silently partial file.
  fs::create_directories(tmp.path() / "alone");
  auto alone =
      LibarchiveUnpacker().unpack({{kRar4 / "game.part1.rar"}}, tmp.path() / "alone", {}, ctx);
  ASSERT_FALSE(alone);
  EXPECT_EQ(alone.error(), make_error_code(errc::damaged_archive)) << ctx.detail;
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
  };
  for (const auto& c : cases) {
    TempDir tmp;
    const auto root = tmp.path() / "game";
    test::make_root(root, "1");
    for (int i = 0; i < 4; ++i) {
      fs::copy_file(kRar4 / ("game.part" + std::to_string(i + 1) + ".rar"), root / c.volumes[i]);
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
