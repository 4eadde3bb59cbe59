// A game root with a v1 and a v2 payload, used by the transaction, recovery and crash tests.
#pragma once

#include "install/libarchive_unpacker.hpp"
#include "install/transaction.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace lanspread::install::test {

struct GameFixture {
  TempDir tmp;
  fs::path games = tmp.path() / "games";
  fs::path root = games / "game";
  fs::path local = root / "local";
  LibarchiveUnpacker unpacker;

  GameFixture() {
    fs::create_directories(games / "neighbour" / "local");
    write_file(games / "neighbour" / "version.ini", "1\n");
    write_file(games / "neighbour" / "local" / "save.dat", "neighbour's save");
  }

  // v1: an archive with a binary, a config and a data folder, plus a loose readme.
  void publish_v1() {
    make_root(root, "1");
    write_archive(
        root / "game.zip", Format::zip,
        {dir("bin"), file("bin/game.exe", "v1 exe"), file("config.ini", "default=1"),
         file("data/old_level.dat", std::string(20000, 'o')), symlink("bin/current", "game.exe")});
    write_file(root / "readme.txt", "v1 readme");
  }
  // v2: a new binary, the config changed, old_level dropped, a new level in a 7z patch.
  void publish_v2() {
    fs::remove(root / "game.zip");
    write_file(root / "version.ini", "2\n");
    write_archive(root / "game.zip", Format::zip,
                  {file("bin/game.exe", "v2 exe"), file("config.ini", "default=2")});
    write_archive(root / "patch.7z", Format::seven_zip,
                  {file("data/new_level.dat", std::string(30000, 'n'))});
    write_file(root / "readme.txt", "v2 readme");
  }
  // Files a player created while playing v1.
  void play() {
    write_file(local / "saves" / "slot1.sav", "player progress");
    write_file(local / "user.cfg", "fov=110");
  }

  InstallOptions options(std::string version = "1") const {
    InstallOptions o;
    o.unpacker = &unpacker;
    o.version = std::move(version);
    return o;
  }
  result<InstallReport> install(OperationContext& ctx, std::string version = "1") {
    return install_game(root, options(std::move(version)), ctx);
  }
  result<InstallReport> install() {
    OperationContext ctx;
    auto r = install(ctx);
    EXPECT_TRUE(r) << ctx.detail;
    return r;
  }

  // Lanspread leaves nothing of its transaction machinery behind once an operation settled.
  void expect_settled() const {
    EXPECT_FALSE(fs::exists(fs::symlink_status(root / ".lanspread.json")));
    EXPECT_FALSE(fs::exists(fs::symlink_status(root / ".lanspread.json.tmp")));
    EXPECT_FALSE(fs::exists(fs::symlink_status(root / ".local.installing")));
    EXPECT_FALSE(fs::exists(fs::symlink_status(root / ".local.backup")));
    EXPECT_FALSE(fs::exists(fs::symlink_status(local / ".lanspread_owned")));
    EXPECT_EQ(snapshot(games / "neighbour"),
              (std::map<std::string, std::string>{{"local/save.dat", "neighbour's save"},
                                                  {"version.ini", "1\n"}}));
  }
};

}  // namespace lanspread::install::test
