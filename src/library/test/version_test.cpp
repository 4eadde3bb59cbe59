#include "library/version.hpp"
#include "library/error.hpp"
#include "temp_dir.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace lanspread::library {
namespace {

// Guards against misreading the version of a downloaded game (wrong updates offered).
TEST(Version, ParsesTheUsualShapesOfVersionIni) {
  EXPECT_EQ(*parse_version_ini("20240115\n"), "20240115");
  EXPECT_EQ(*parse_version_ini("\n\n  1.2.3  \r\n"), "1.2.3");
  EXPECT_EQ(*parse_version_ini("\xEF\xBB\xBF"
                               "0.8.6"),
            "0.8.6");
  EXPECT_EQ(*parse_version_ini("[game]\nname=Xonotic\nversion = 0.8.6\n"), "0.8.6");
  EXPECT_EQ(*parse_version_ini("# build\nVERSION=7\n"), "7");
  EXPECT_EQ(*parse_version_ini("; c\n[s]\nv2\n"), "v2");
}

// Guards against an empty or binary version.ini being taken as a version.
TEST(Version, RefusesEmptyOrMalformedContent) {
  for (const char* bad :
       {"", "\n\n", "   \r\n", "# only a comment\n", "[section]\n", "version=\n"}) {
    auto r = parse_version_ini(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error(), errc::version_missing);
  }
  EXPECT_FALSE(parse_version_ini(std::string("1.0\x01", 4)));
  EXPECT_FALSE(parse_version_ini(std::string(200, 'x')));
}

// Guards against following a symlinked or oversized version.ini.
TEST(Version, ReadsOnlyRegularBoundedFiles) {
  testing::TempDir dir;
  testing::write_file(dir / "ok.ini", "42\n");
  EXPECT_EQ(*read_version_file(dir / "ok.ini"), "42");
  std::filesystem::create_directory(dir / "dir.ini");
  EXPECT_FALSE(read_version_file(dir / "dir.ini"));
  std::filesystem::create_symlink(dir / "ok.ini", dir / "link.ini");
  EXPECT_FALSE(read_version_file(dir / "link.ini"));
  testing::write_file(dir / "big.ini", std::string(100 * 1024, '1'));
  EXPECT_FALSE(read_version_file(dir / "big.ini"));
  EXPECT_FALSE(read_version_file(dir / "missing.ini"));
}

// Guards against lexical comparison picking an older version as the latest.
TEST(Version, NaturalOrder) {
  EXPECT_LT(natural_compare("20240115", "20241002"), 0);
  EXPECT_LT(natural_compare("1.9", "1.10"), 0);
  EXPECT_LT(natural_compare("v2", "v10"), 0);
  EXPECT_LT(natural_compare("1.0", "1.0.1"), 0);
  EXPECT_LT(natural_compare("2", "10a"), 0);
  EXPECT_EQ(natural_compare("1.2.3", "1.2.3"), 0);
  EXPECT_NE(natural_compare("01", "1"), 0);  // total order: distinct strings never equal
  EXPECT_LT(natural_compare("99999999999999999999999", "100000000000000000000000"), 0);
  std::vector<std::string> v{"1.10", "1.2", "1.9", "1.1"};
  std::sort(v.begin(), v.end(), NaturalLess{});
  EXPECT_EQ(v, (std::vector<std::string>{"1.1", "1.2", "1.9", "1.10"}));
}

}  // namespace
}  // namespace lanspread::library
