// How the CLI finds the daemon's API key in the state directory.
#include "app/cli_context.hpp"

#include <gtest/gtest.h>

#include <fstream>

namespace lanspread::app::cli {
namespace {

class ApiKeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("lanspread-cli-key-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& content) {
    std::ofstream(dir_ / "api-key", std::ios::binary) << content;
  }
  std::filesystem::path dir_;
};

TEST_F(ApiKeyFile, ReadsTheKeyWithoutItsNewline) {
  // Guards against sending "Bearer <key>\n", which the daemon refuses.
  write(std::string(64, 'a') + "\n");
  const ApiKey k = read_api_key(dir_, 4096);
  EXPECT_EQ(k.key, std::string(64, 'a'));
  EXPECT_TRUE(k.problem.empty());
  EXPECT_EQ(k.path, dir_ / "api-key");
}

TEST_F(ApiKeyFile, MissingFileIsExplainedNotFatal) {
  // Guards against a crash or a silent empty key when the daemon never ran here: the
  // reason is kept for the message shown if the daemon then refuses us.
  const ApiKey k = read_api_key(dir_, 4096);
  EXPECT_TRUE(k.key.empty());
  EXPECT_NE(k.problem.find("No such file"), std::string::npos) << k.problem;
}

TEST_F(ApiKeyFile, RefusesWhatCouldBreakTheHeader) {
  // Guards against header injection from a tampered key file (a CR LF inside the key would
  // end the Authorization line and start another header).
  write("abc\r\nX-Evil: 1");
  EXPECT_TRUE(read_api_key(dir_, 4096).key.empty());
  write("");
  EXPECT_TRUE(read_api_key(dir_, 4096).key.empty());
}

TEST_F(ApiKeyFile, DoesNotFollowASymlink) {
  // Guards against reading whatever a planted link points at (the daemon never writes
  // its key through a link either).
  std::ofstream(dir_ / "elsewhere") << std::string(64, 'b');
  std::filesystem::create_symlink(dir_ / "elsewhere", dir_ / "api-key");
  const ApiKey k = read_api_key(dir_, 4096);
  EXPECT_TRUE(k.key.empty());
  EXPECT_FALSE(k.problem.empty());
}

TEST_F(ApiKeyFile, RefusesAHugeFile) {
  // Guards against reading an unbounded file into memory.
  write(std::string(5000, 'a'));
  const ApiKey k = read_api_key(dir_, 4096);
  EXPECT_TRUE(k.key.empty());
  EXPECT_FALSE(k.problem.empty());
}

}  // namespace
}  // namespace lanspread::app::cli
