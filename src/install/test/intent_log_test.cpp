#include "install/intent_log.hpp"

#include "proto/layout.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

namespace lanspread::install {
namespace {

using test::TempDir;

// Guards against losing the recorded operation or phase across a write/read cycle, which
// would make recovery roll the wrong way.
TEST(IntentLog, RoundTripsEveryOperationAndPhase) {
  TempDir tmp;
  const Intent intents[] = {
      {Operation::install, Phase::staging, "1.0"}, {Operation::install, Phase::swapping, "1.0"},
      {Operation::update, Phase::staging, "2"},    {Operation::update, Phase::swapping, "2"},
      {Operation::update, Phase::cleanup, "2"},    {Operation::uninstall, Phase::removing, ""}};
  for (const auto& in : intents) {
    std::string detail;
    ASSERT_TRUE(write_intent(tmp.path(), in, detail)) << detail;
    const auto read = read_intent(tmp.path());
    ASSERT_EQ(read.state, IntentRead::State::valid);
    EXPECT_EQ(read.intent.op, in.op);
    EXPECT_EQ(read.intent.phase, in.phase);
    EXPECT_EQ(read.intent.version, in.version);
    EXPECT_FALSE(fs::exists(tmp.path() / ".lanspread.json.tmp"));
  }
  std::string detail;
  ASSERT_TRUE(clear_intent(tmp.path(), detail));
  EXPECT_EQ(read_intent(tmp.path()).state, IntentRead::State::absent);
}

// Guards against a crash or a refusal when the intent log is garbage, truncated, written by
// another program, or not a regular file: recovery must get `unreadable`, never a throw.
TEST(IntentLog, CorruptOrForeignFilesAreUnreadableNotFatal) {
  const std::string bad[] = {
      "",
      "not json",
      "{\"format\":\"lanspread.install-intent\",\"format_version\":1,\"op\":\"inst",
      "[1,2,3]",
      "{\"games\":[]}",
      "{\"format\":\"lanspread.install-intent\",\"format_version\":2,\"op\":\"install\","
      "\"phase\":\"staging\"}",
      "{\"format\":\"lanspread.install-intent\",\"format_version\":1,\"op\":\"install\","
      "\"phase\":\"removing\"}",
      "{\"format\":\"lanspread.install-intent\",\"format_version\":1,\"op\":\"explode\","
      "\"phase\":\"staging\"}",
      "{\"format\":\"lanspread.install-intent\",\"format_version\":1,\"op\":\"update\","
      "\"phase\":\"staging\",\"version\":7}",
      std::string(200, '[') + std::string(200, ']'),
      std::string(100 * 1024, ' '),
      std::string("{\"format\":\0", 11),
  };
  for (const auto& text : bad) {
    TempDir tmp;
    test::write_file(tmp.path() / ".lanspread.json", text);
    const auto read = read_intent(tmp.path());
    EXPECT_EQ(read.state, IntentRead::State::unreadable) << text.substr(0, 60);
    EXPECT_FALSE(read.problem.empty());
  }
  TempDir as_dir;
  fs::create_directory(as_dir.path() / ".lanspread.json");
  EXPECT_EQ(read_intent(as_dir.path()).state, IntentRead::State::unreadable);
  TempDir as_link;
  test::write_file(as_link.path() / "elsewhere.json",
                   encode_intent({Operation::install, Phase::staging, "1"}));
  fs::create_symlink("elsewhere.json", as_link.path() / ".lanspread.json");
  EXPECT_EQ(read_intent(as_link.path()).state, IntentRead::State::unreadable);
}

// Guards against a symlink planted at the temp name redirecting the atomic write to a file
// outside the root.
TEST(IntentLog, WriteDoesNotFollowAPlantedTempSymlink) {
  TempDir tmp;
  const auto victim = tmp.path() / "victim.txt";
  test::write_file(victim, "precious");
  fs::create_directory(tmp.path() / "root");
  fs::create_symlink(victim, tmp.path() / "root" / ".lanspread.json.tmp");
  std::string detail;
  ASSERT_TRUE(write_intent(tmp.path() / "root", {Operation::install, Phase::staging, "1"}, detail))
      << detail;
  EXPECT_EQ(test::read_file(victim), "precious");
  EXPECT_EQ(read_intent(tmp.path() / "root").state, IntentRead::State::valid);
}

// Guards against an intent write into a missing root being reported as success.
TEST(IntentLog, WriteIntoMissingRootFailsWithDetail) {
  TempDir tmp;
  std::string detail;
  auto r = write_intent(tmp.path() / "missing", {Operation::install, Phase::staging, "1"}, detail);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), make_error_code(errc::io_error));
  EXPECT_NE(detail.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace lanspread::install
