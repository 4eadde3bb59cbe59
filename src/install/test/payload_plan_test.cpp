#include "install/payload_plan.hpp"

#include "test_support.hpp"

#include <gtest/gtest.h>

namespace lanspread::install {
namespace {

using test::TempDir;
using test::write_file;

std::vector<std::string> names(const PayloadPlan& plan) {
  std::vector<std::string> out;
  for (const auto& av : plan.archives) {
    std::string s;
    for (const auto& v : av.volumes) s += (s.empty() ? "" : ",") + v.filename().string();
    out.push_back(s);
  }
  return out;
}

// Guards against installing the wrong files: version.ini, reserved files, local/ or an
// archive volume treated as a loose file, or game-data archives in sub-folders extracted.
TEST(PayloadPlan, SplitsArchivesFromLooseFiles) {
  TempDir tmp;
  const auto& r = tmp.path();
  for (const char* f : {"version.ini", "b.zip", "A.7Z", "c.tar.gz", "readme.txt", "data/pak.zip",
                        ".lanspread.json", ".lanspread.index", ".version.ini.tmp", "local/x.zip",
                        ".local.installing/y", "sub/.lanspread.json"}) {
    write_file(r / f, "x");
  }
  fs::create_symlink("/etc/passwd", r / "link.zip");
  std::string detail;
  auto plan = plan_payload(r, detail);
  ASSERT_TRUE(plan) << detail;
  EXPECT_EQ(names(*plan), (std::vector<std::string>{"A.7Z", "b.zip", "c.tar.gz"}));
  EXPECT_EQ(plan->loose_files, (std::vector<std::string>{"data/pak.zip", "readme.txt"}));
  EXPECT_EQ(plan->archive_bytes, 3u);
  EXPECT_EQ(plan->loose_bytes, 2u);
}

// Guards against extracting each volume of a multi-part archive as its own archive, or in
// the wrong order.
TEST(PayloadPlan, GroupsVolumesInOrder) {
  TempDir tmp;
  const auto& r = tmp.path();
  for (const char* f : {"version.ini", "g.part2.rar", "g.part10.rar", "g.part1.rar", "old.r01",
                        "old.rar", "old.r00", "s.7z.002", "s.7z.001", "orphan.r00", "old.s00",
                        "old.r99", "G5.Part01.RAR", "G5.Part02.RAR"}) {
    write_file(r / f, "x");
  }
  std::string detail;
  auto plan = plan_payload(r, detail);
  ASSERT_TRUE(plan) << detail;
  EXPECT_EQ(names(*plan), (std::vector<std::string>{
                              "G5.Part01.RAR,G5.Part02.RAR", "g.part1.rar,g.part2.rar,g.part10.rar",
                              "old.rar,old.r00,old.r01,old.r99,old.s00", "s.7z.001,s.7z.002"}));
  EXPECT_EQ(plan->loose_files, (std::vector<std::string>{"orphan.r00"}));
}

// Guards against silently installing half of a split zip, which libarchive cannot read.
TEST(PayloadPlan, RefusesSplitZipWithClearError) {
  TempDir tmp;
  write_file(tmp.path() / "version.ini", "1");
  write_file(tmp.path() / "g.zip", "x");
  write_file(tmp.path() / "g.z01", "x");
  std::string detail;
  auto plan = plan_payload(tmp.path(), detail);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error(), make_error_code(errc::unsupported_archive));
  EXPECT_NE(detail.find("g.z01"), std::string::npos);
}

}  // namespace
}  // namespace lanspread::install
