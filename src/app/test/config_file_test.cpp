#include "app/config_file.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace lanspread::app {
namespace {

namespace fs = std::filesystem;

ConfigFile parse_ok(std::string_view text) {
  auto r = parse_config(text, "cfg");
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  return r ? *r : ConfigFile{};
}

std::string parse_error(std::string_view text) {
  auto r = parse_config(text, "cfg");
  EXPECT_FALSE(r) << text;
  return r ? "" : r.error().message;
}

// Guards against a settings file whose keys are read wrongly: repeatable keys keep every
// value in order, spaces and comments are ignored.
TEST(ConfigFile, ReadsEveryKey) {
  const auto c = parse_ok(
      "# lanspread\n\n  games_dir =  /srv/games  \npeer = 192.168.1.20:7979\n"
      "peer=[fe80::1%eth0]:8000\npeer = lan-box\ninterface = eth0\ninterface=wlan0\n"
      "all_interfaces = true\n");
  EXPECT_EQ(c.settings.games_dir, fs::path("/srv/games"));
  EXPECT_EQ(c.settings.peers,
            (std::vector<std::string>{"192.168.1.20:7979", "[fe80::1%eth0]:8000", "lan-box"}));
  EXPECT_EQ(c.settings.interfaces, (std::vector<std::string>{"eth0", "wlan0"}));
  EXPECT_EQ(c.settings.all_interfaces, true);
  EXPECT_TRUE(c.warnings.empty());
}

// Guards against a typo that stops the daemon (unknown keys only warn) and against bad values
// that are taken silently (each is an error naming the file and line).
TEST(ConfigFile, UnknownKeysWarnBadValuesFailWithFileAndLine) {
  const auto c = parse_ok("gamesdir = /x\n");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_EQ(c.warnings[0], "cfg:1: unknown key 'gamesdir' ignored");
  EXPECT_EQ(parse_error("\ngames_dir = relative/dir\n").rfind("cfg:2: games_dir", 0), 0u);
  EXPECT_EQ(parse_error("peer = host:99999\n").rfind("cfg:1: peer", 0), 0u);
  EXPECT_EQ(parse_error("peer = a b\n").rfind("cfg:1: peer", 0), 0u);
  EXPECT_EQ(parse_error("peer = :7979\n").rfind("cfg:1: peer", 0), 0u);
  EXPECT_EQ(parse_error("interface = a/b\n").rfind("cfg:1: interface", 0), 0u);
  EXPECT_EQ(parse_error("all_interfaces = yes\n").rfind("cfg:1: all_interfaces", 0), 0u);
  EXPECT_EQ(parse_error("just words\n").rfind("cfg:1: expected", 0), 0u);
  EXPECT_NE(parse_error("games_dir = /a\ngames_dir = /b\n").find("line 1"), std::string::npos);
}

// Guards against a huge or endless file being read whole into memory.
TEST(ConfigFile, SizeAndLineCaps) {
  ConfigLimits small;
  small.max_bytes = 100;
  small.max_lines = 3;
  EXPECT_FALSE(parse_config(std::string(101, '#'), "cfg", small));
  EXPECT_FALSE(parse_config("#\n#\n#\n#\n", "cfg", small));
  small.max_peers = 1;
  EXPECT_FALSE(parse_config("peer = a\npeer = b\n", "cfg", small));
}

// Guards against saving the games dir losing the file's other lines, or writing a second
// games_dir line that the next start would refuse.
TEST(ConfigFile, SavingTheGamesDirKeepsTheRest) {
  const fs::path dir =
      fs::temp_directory_path() / ("lanspread-config-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const fs::path file = dir / "lanspread" / "config";
  ASSERT_TRUE(save_games_dir(file, "/srv/a"));  // creates the file and its directory
  auto first = read_config(file);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->settings.games_dir, fs::path("/srv/a"));
  {
    std::ofstream out(file, std::ios::app);
    out << "# my peers\npeer = box:7979\n";
  }
  ASSERT_TRUE(save_games_dir(file, "/srv/b"));
  auto second = read_config(file);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->settings.games_dir, fs::path("/srv/b"));
  EXPECT_EQ(second->settings.peers, std::vector<std::string>{"box:7979"});
  EXPECT_EQ(with_games_dir("# c\n  games_dir = /old\n", "/new"), "# c\ngames_dir = /new\n");
  // A missing file is an empty one.
  auto none = read_config(dir / "absent");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->settings.games_dir);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lanspread::app
