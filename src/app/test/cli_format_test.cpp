// How the CLI shows the daemon's numbers and strings to a person.
#include "app/cli_format.hpp"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace lanspread::app::cli {
namespace {
namespace json = boost::json;

TEST(CliFormat, SizesUseDecimalUnitsAndNeverRoundUp) {
  // Guards against sizes in raw bytes or binary units the brief does not use, and against
  // rounding that shows "100 %" worth of bytes before the last one arrived.
  EXPECT_EQ(format_size(0), "0 B");
  EXPECT_EQ(format_size(999), "999 B");
  EXPECT_EQ(format_size(1'500), "1.5 kB");
  EXPECT_EQ(format_size(512'000'000), "512.0 MB");
  EXPECT_EQ(format_size(1'234'567'890), "1.23 GB");
  EXPECT_EQ(format_size(1'999'999'999), "1.99 GB");
  EXPECT_EQ(format_size(25'000'000'000), "25.0 GB");
  EXPECT_EQ(format_rate(35'200'000), "35.2 MB/s");
}

TEST(CliFormat, DurationsReadLikeAClock) {
  // Guards against an ETA shown in raw seconds, or a huge ETA that overflows the line.
  EXPECT_EQ(format_duration(7), "0:07");
  EXPECT_EQ(format_duration(725), "12:05");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(1'000'000'000), "99:59:59+");
}

TEST(CliFormat, PercentIsHundredOnlyWhenDone) {
  // Guards against a progress line that reads 100 % while bytes are still missing.
  OperationView op;
  op.total = 1000;
  op.done = 999;
  EXPECT_EQ(percent_of(op), 99u);
  op.done = 1000;
  EXPECT_EQ(percent_of(op), 100u);
  op.done = 5000;  // a daemon that overcounts still shows 100, not 500
  EXPECT_EQ(percent_of(op), 100u);
  op.total = 0;
  EXPECT_EQ(percent_of(op), std::nullopt);
}

TEST(CliFormat, ProgressLineCarriesPercentSpeedEtaAndPeers) {
  // Guards against the live line of `get` missing what a person waits for.
  const auto op = operation_from_json(json::parse(
      R"({"id":"openarena","kind":"download","phase":"downloading","done":512000000,
          "total":1200000000,"bytes_per_second":35200000,"eta_seconds":21,"active_peers":3})"));
  const std::string line = progress_line(op, 200);
  EXPECT_NE(line.find("openarena"), std::string::npos) << line;
  EXPECT_NE(line.find("downloading"), std::string::npos) << line;
  EXPECT_NE(line.find(" 42%"), std::string::npos) << line;
  EXPECT_NE(line.find("512.0 MB / 1.20 GB"), std::string::npos) << line;
  EXPECT_NE(line.find("35.2 MB/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA 0:21"), std::string::npos) << line;
  EXPECT_NE(line.find("3 peers"), std::string::npos) << line;
}

TEST(CliFormat, ProgressLineFitsTheTerminal) {
  // Guards against a line wider than the terminal: it wraps, and redrawing it with a
  // carriage return then stacks copies down the screen.
  const auto op = operation_from_json(json::parse(
      R"({"id":"openarena","kind":"download","phase":"downloading","done":1,"total":2,
          "bytes_per_second":1,"eta_seconds":1,"active_peers":1})"));
  for (std::size_t width : {30u, 40u, 60u, 79u}) {
    const std::string line = progress_line(op, width);
    EXPECT_LE(line.size(), width) << line;
    EXPECT_NE(line.find("50%"), std::string::npos) << line;  // percent outlives the rest
  }
}

TEST(CliFormat, CompleteDownloadShowsNoSpeedOrPeers) {
  // Guards against a finished download that reads "0 B/s  waiting for peers".
  const auto op = operation_from_json(json::parse(
      R"({"id":"x","kind":"download","phase":"downloading","done":4,"total":4,
          "bytes_per_second":0,"active_peers":0})"));
  const std::string line = progress_line(op, 200);
  EXPECT_NE(line.find("100%"), std::string::npos) << line;
  EXPECT_EQ(line.find("B/s"), std::string::npos) << line;
  EXPECT_EQ(line.find("peers"), std::string::npos) << line;
}

TEST(CliFormat, StalledAndPeerlessDownloadsSaySo) {
  // Guards against a frozen download that keeps showing its last speed.
  auto op = operation_from_json(json::parse(
      R"({"id":"x","kind":"download","phase":"downloading","done":1,"total":4,
          "bytes_per_second":1000,"stalled_seconds":12,"active_peers":0})"));
  const std::string line = progress_line(op, 200);
  EXPECT_NE(line.find("stalled 0:12"), std::string::npos) << line;
  EXPECT_NE(line.find("waiting for peers"), std::string::npos) << line;
  EXPECT_EQ(line.find("kB/s"), std::string::npos) << line;
}

TEST(CliFormat, DownloadPhasesReadAsWords) {
  // Guards against a resume's hashing of the local files, or the final commit, shown as if
  // bytes were crossing the network.
  auto op = operation_from_json(json::parse(R"({"kind":"download","phase":"checking"})"), "x");
  EXPECT_EQ(activity_of(op), "checking");
  op.phase = "committing";
  EXPECT_EQ(activity_of(op), "finishing");
  op.phase = "resolving";
  EXPECT_EQ(activity_of(op), "looking for peers");
  op.phase = "downloading";
  EXPECT_EQ(activity_of(op), "downloading");
}

TEST(CliFormat, InstallLineHasNoByteCounts) {
  // Guards against install progress shown as bytes downloaded (its units are its own).
  const auto op = operation_from_json(
      json::parse(R"({"kind":"install","phase":"extracting","done":3,"total":4})"), "xonotic");
  const std::string line = progress_line(op, 200);
  EXPECT_NE(line.find("xonotic  installing"), std::string::npos) << line;
  EXPECT_NE(line.find(" 75%"), std::string::npos) << line;
  EXPECT_EQ(line.find(" B"), std::string::npos) << line;
}

TEST(CliFormat, PrintableRemovesTerminalControls) {
  // Guards against a peer's name (from an mDNS packet) rewriting the user's terminal.
  EXPECT_EQ(printable("bob\x1b[2J"), "bob?[2J");
  EXPECT_EQ(printable("a\rb\nc\x7f"), "a?b?c?");
  EXPECT_EQ(printable("x\xc2\x9b"
                      "31m"),
            "x?31m");                                  // C1 CSI in UTF-8
  EXPECT_EQ(printable("Jos\xc3\xa9"), "Jos\xc3\xa9");  // ordinary UTF-8 stays
}

TEST(CliFormat, TablesAlignColumns) {
  // Guards against ragged tables in `games` and `peers`.
  const std::string t = render_table({"ID", "SIZE"}, {{"openarena", "1.2 GB"}, {"x", "9 B"}}, {1});
  EXPECT_EQ(t,
            "ID           SIZE\n"
            "openarena  1.2 GB\n"
            "x             9 B\n");
}

TEST(CliFormat, GameStateInOneWord) {
  // Guards against `games` showing raw booleans.
  EXPECT_EQ(game_state(json::parse(R"({"installed":true,"downloaded":true})")), "installed");
  EXPECT_EQ(game_state(json::parse(R"({"downloaded":true,"update_available":true})")),
            "downloaded (update)");
  EXPECT_EQ(game_state(json::parse(R"({"available":true})")), "available");
  EXPECT_EQ(game_state(json::parse(R"({"available":false})")), "-");
}

}  // namespace
}  // namespace lanspread::app::cli
