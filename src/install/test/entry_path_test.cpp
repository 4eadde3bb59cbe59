#include "install/entry_path.hpp"

#include <gtest/gtest.h>

namespace lanspread::install {
namespace {

// Guards against an archive entry name that writes outside the install directory or over
// Lanspread's own files.
TEST(EntryPath, RefusesEscapesAndReservedNames) {
  const std::string bad[] = {"/etc/passwd",
                             "\\windows\\system32",
                             "../x",
                             "a/../../x",
                             "a/..",
                             "..\\..\\x",
                             "C:/x",
                             "c:x",
                             "..",
                             ".lanspread_owned",
                             "./.lanspread.files",
                             std::string("a\0b", 3),
                             std::string(300, 'a'),
                             std::string(5000, 'a')};
  for (const auto& p : bad) EXPECT_FALSE(sanitize_entry_path(p)) << p;
}

// Guards against an archive entry that installs as a different file (or a device) on the
// Windows machines of the other players: "Readme." and "Readme" are one file there, "NUL.txt"
// is the null device, and ".LANSPREAD.files" is Lanspread's list of installed files.
TEST(EntryPath, RefusesWindowsAliasesAndReservedNamesInAnyCase) {
  for (const char* p :
       {"Readme.", "dir./x", "dir /x", "x/name ", "NUL.txt", "data/con", "Com1.log", "sub/LPT9",
        "aux.tar.gz", "PRN", ".LANSPREAD.files", "./.LanSpread_Owned", "CONOUT$"}) {
    EXPECT_FALSE(sanitize_entry_path(p)) << p;
  }
  for (const char* p : {"console.log", "null.txt", "com10", "sub/.LANSPREAD.files", "a.nul"}) {
    EXPECT_TRUE(sanitize_entry_path(p)) << p;
  }
}

// Guards against refusing or mangling ordinary entry names, which would break real games.
TEST(EntryPath, NormalisesOrdinaryNames) {
  EXPECT_EQ(*sanitize_entry_path("Game/bin/game.exe"), "Game/bin/game.exe");
  EXPECT_EQ(*sanitize_entry_path("./Game//data/"), "Game/data");
  EXPECT_EQ(*sanitize_entry_path("Game\\Data\\x.pak"), "Game/Data/x.pak");
  EXPECT_EQ(*sanitize_entry_path("sub/.lanspread_owned"), "sub/.lanspread_owned");
  EXPECT_EQ(*sanitize_entry_path("..name/x..y"), "..name/x..y");
  EXPECT_EQ(*sanitize_entry_path("./"), "");
  EXPECT_EQ(*sanitize_entry_path("Spiel/äöü.txt"), "Spiel/äöü.txt");
}

// Guards against a symlink whose target leaves the install directory, directly or by "..".
TEST(EntryPath, SymlinkTargetsMustStayInside) {
  EXPECT_TRUE(check_symlink_target("lib/libfoo.so", "libfoo.so.1"));
  EXPECT_TRUE(check_symlink_target("a/b/link", "../c/file"));
  EXPECT_TRUE(check_symlink_target("a/link", ".."));
  EXPECT_FALSE(check_symlink_target("link", "/etc/passwd"));
  EXPECT_FALSE(check_symlink_target("link", ".."));
  EXPECT_FALSE(check_symlink_target("a/link", "../../x"));
  EXPECT_FALSE(check_symlink_target("a/link", "b/../../../x"));
  EXPECT_FALSE(check_symlink_target("link", "C:\\x"));
  // Lexically inside, but "d/y" may itself be a link to ".." that makes this escape.
  EXPECT_FALSE(check_symlink_target("x", "d/y/.."));
  EXPECT_FALSE(check_symlink_target("a/b/x", "../c/../../d"));
  EXPECT_FALSE(check_symlink_target("link", ""));
}

}  // namespace
}  // namespace lanspread::install
