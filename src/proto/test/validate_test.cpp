#include "proto/validate.hpp"
#include "proto/limits.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <string>

namespace lanspread::proto {
namespace {

// Guards against a peer naming a file outside the game root, a reserved file, or the
// installed tree through a crafted path.
TEST(ValidatePath, RefusesEveryEscapeAndReservedName) {
  const char* bad[] = {"",
                       "/etc/passwd",
                       "../secret",
                       "a/../../b",
                       "a/./b",
                       "a//b",
                       "a/",
                       "a\\..\\b",
                       "C:/Windows",
                       "a/b:stream",
                       "local/game.exe",
                       ".lanspread.json",
                       "sub/.lanspread.index",
                       ".lanspread.staging/files/data.pak",
                       ".local.installing/x",
                       ".version.ini.tmp",
                       "name.",
                       "name ",
                       "tab\there"};
  for (const char* p : bad) {
    EXPECT_FALSE(validate_relative_path(p)) << p;
  }
  EXPECT_FALSE(validate_relative_path(std::string("a\0b", 3)));
}

// Guards against a manifest entry that is a different name on Linux but the same file as
// one of ours on the case-insensitive filesystems most players use (Windows, macOS): it
// would overwrite the installed tree, the intent log or the sentinel there.
TEST(ValidatePath, ReservedNamesMatchInAnyCase) {
  for (const char* p : {"LOCAL/save.dat", "Local", "lOcAl/x/y", ".LANSPREAD.json",
                        "sub/.LanSpread.index", ".Local.Installing/x", ".VERSION.INI.tmp",
                        "Version.INI", "VERSION.ini", ".Lanspread.Staging/files/x"}) {
    EXPECT_FALSE(validate_relative_path(p)) << p;
  }
  EXPECT_TRUE(is_reserved_name(".LANSPREAD.json"));
  EXPECT_FALSE(is_own_name(".LANSPREAD.json"));
  EXPECT_TRUE(is_own_name(".lanspread.json"));
  // The sentinel's own spelling stays valid at the top; deeper, any spelling is payload.
  for (const char* p : {"version.ini", "data/Version.INI", "data/LOCAL/x"}) {
    EXPECT_TRUE(validate_relative_path(p)) << p;
  }
}

// Guards against names Windows opens as devices (a peer's game then cannot be written, or a
// write goes to a printer port) and names Windows silently shortens into another file.
TEST(ValidatePath, RefusesWindowsDeviceNamesAndTrailingDotsOrSpaces) {
  for (const char* p :
       {"CON",          "con",      "prn.txt",  "AUX",       "nul",         "NUL.txt",
        "nul.tar.gz",   "Com1",     "COM9.log", "lpt1",      "LPT9.dat",    "data/nul",
        "a/b/CoM3.ini", "NUL .txt", "conin$",   "CONOUT$.x", "COM\xc2\xb9", "lpt\xc2\xb3.bin",
        "dir./x",       "dir /x",   "x/file.",  "x/file  ",  "..."}) {
    EXPECT_FALSE(validate_relative_path(p)) << p;
  }
  for (const char* p : {"console.txt", "nul_map.bsp", "com10", "lpt0.dat", "auxiliary/x", "com",
                        "data/connect.cfg", "prn-setup.exe", "a.con"}) {
    EXPECT_TRUE(validate_relative_path(p)) << p;
  }
}

// Guards against refusing legitimate payload paths, which would make games unservable.
TEST(ValidatePath, AcceptsOrdinaryPayloadPaths) {
  for (const char* p : {"version.ini", "data/pak0.pk3", "a/b/c/d.bin", "locale/de.po", "local.txt",
                        "sub/local/x", "Ünïcode/файл.dat", ".hidden"}) {
    EXPECT_TRUE(validate_relative_path(p)) << p;
  }
}

// Guards against unbounded paths exhausting memory or file-system limits.
TEST(ValidatePath, BoundsLengthAndDepth) {
  EXPECT_FALSE(validate_relative_path(std::string(kMaxSegmentLength + 1, 'a')));
  EXPECT_TRUE(validate_relative_path(std::string(kMaxSegmentLength, 'a')));
  std::string deep;
  for (std::size_t i = 0; i <= kMaxPathDepth; ++i) deep += "a/";
  deep += "f";
  EXPECT_FALSE(validate_relative_path(deep));
  EXPECT_FALSE(validate_relative_path(std::string(kMaxPathLength + 1, 'a')));
}

// Guards against ids that could be used as path components to escape the games dir.
TEST(ValidateId, OnlyCatalogShapedIds) {
  for (const char* id : {"openarena", "0ad", "red-eclipse", "super_tux_kart"}) {
    EXPECT_TRUE(validate_game_id(id)) << id;
  }
  for (const char* id : {"", "..", ".", "-x", "_x", "A", "a/b", "a b", "a.b", "é"}) {
    EXPECT_FALSE(validate_game_id(id)) << id;
  }
  EXPECT_FALSE(validate_game_id(std::string(kMaxIdLength + 1, 'a')));
}

// Guards against integer overflow letting a chunk request read past the end of a file.
TEST(ValidateRange, RefusesOverflowAndOutOfBounds) {
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  EXPECT_TRUE(validate_range(0, 100, 100));
  EXPECT_TRUE(validate_range(99, 1, 100));
  EXPECT_FALSE(validate_range(100, 1, 100));
  EXPECT_FALSE(validate_range(0, 0, 100));
  EXPECT_FALSE(validate_range(50, 51, 100));
  EXPECT_FALSE(validate_range(kMax, 2, kMax));
  EXPECT_FALSE(validate_range(kMax - 1, kMax, kMax));
  EXPECT_FALSE(validate_range(0, kMaxChunkSize + 1, kMax));
}

Game make_game() {
  Game g{"openarena", "20240115", kDefaultChunkSize, {}};
  g.files.push_back({"version.ini", 9, false, {Sha256{}}});
  g.files.push_back({"data", 0, true, {}});
  g.files.push_back({"data/big.pk3", kDefaultChunkSize + 1, false, {Sha256{}, Sha256{}}});
  return g;
}

// Guards against accepting a manifest whose hash list cannot verify the file it describes.
TEST(ValidateGame, ChecksManifestInvariants) {
  EXPECT_TRUE(validate_game(make_game()));

  auto g = make_game();
  g.files[2].chunk_hashes.pop_back();
  EXPECT_EQ(validate_game(g).error(), errc::inconsistent);

  g = make_game();
  g.files.push_back(g.files[0]);
  EXPECT_EQ(validate_game(g).error(), errc::inconsistent);  // duplicate path

  g = make_game();
  g.files[1].size = 5;
  EXPECT_EQ(validate_game(g).error(), errc::inconsistent);  // directory with size

  g = make_game();
  g.chunk_size = 1000;
  EXPECT_EQ(validate_game(g).error(), errc::bad_value);

  g = make_game();
  g.files[0].path = "../x";
  EXPECT_EQ(validate_game(g).error(), errc::bad_path);

  g = make_game();
  g.version = "";
  EXPECT_EQ(validate_game(g).error(), errc::bad_version);
}

}  // namespace
}  // namespace lanspread::proto
