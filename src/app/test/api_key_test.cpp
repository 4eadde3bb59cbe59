#include "app/api_key.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <random>

namespace lanspread::app {
namespace {
namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = fs::temp_directory_path() / ("lanspread-key-test-" + std::to_string(rd()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

mode_t mode_of(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return st.st_mode & 07777;
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

TEST(ApiKey, FirstStartMakesAPrivateKeyThatLasts) {
  // Guards against a key file other users can read (or a state dir they can enter), and
  // against a key that changes between starts (clients would lose access).
  TempDir tmp;
  const fs::path state = tmp.path() / "state";
  auto key = load_or_create_api_key(state);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(key->size(), 64u);
  EXPECT_EQ(key->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(mode_of(state), 0700u);
  EXPECT_EQ(mode_of(state / "api-key"), 0600u);
  EXPECT_EQ(read_all(state / "api-key"), *key);
  EXPECT_FALSE(fs::exists(state / "api-key.tmp"));
  auto again = load_or_create_api_key(state);
  ASSERT_TRUE(again);
  EXPECT_EQ(*again, *key);
}

TEST(ApiKey, LooseModesAreTightened) {
  // Guards against keeping a key readable by others when the state dir or the file was
  // created with a loose umask or by hand.
  TempDir tmp;
  const fs::path state = tmp.path() / "state";
  fs::create_directories(state);
  ::chmod(state.c_str(), 0755);
  const std::string written(64, 'a');
  std::ofstream(state / "api-key") << written << "\n";
  ::chmod((state / "api-key").c_str(), 0644);
  std::vector<std::string> warnings;
  auto key = load_or_create_api_key(state, &warnings);
  ASSERT_TRUE(key) << key.error().message();
  EXPECT_EQ(*key, written);
  EXPECT_EQ(mode_of(state), 0700u);
  EXPECT_EQ(mode_of(state / "api-key"), 0600u);
  // The person is told: the key may have been read while it was open.
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find("mode 0755"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("mode 0644"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[1].find("may have leaked"), std::string::npos) << warnings[1];
  warnings.clear();
  ASSERT_TRUE(load_or_create_api_key(state, &warnings));
  EXPECT_TRUE(warnings.empty());  // private now: nothing to say
}

TEST(ApiKey, AKeyOfAnotherUserIsRefused) {
  // Guards against using (and so trusting) a key file another user owns, who could read or
  // replace it.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the file away";
  TempDir tmp;
  const fs::path state = tmp.path() / "state";
  fs::create_directories(state);
  ::chmod(state.c_str(), 0700);
  std::ofstream(state / "api-key") << std::string(64, 'a') << "\n";
  ::chmod((state / "api-key").c_str(), 0600);
  ASSERT_EQ(::chown((state / "api-key").c_str(), 65534, 65534), 0);
  auto key = load_or_create_api_key(state);
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message().find("another user"), std::string::npos) << key.error().message();
}

TEST(ApiKey, AFreshStateDirIsNoWarning) {
  // Guards against a false alarm at every first start (the dir is created with the umask,
  // then tightened).
  TempDir tmp;
  std::vector<std::string> warnings;
  ASSERT_TRUE(load_or_create_api_key(tmp.path() / "new" / "state", &warnings));
  EXPECT_TRUE(warnings.empty()) << warnings.front();
}

TEST(ApiKey, AFileThatIsNoKeyIsRefusedNotReplaced) {
  // Guards against silently replacing a damaged key (clients hold the old one) and against
  // following a symlink planted at the key's name.
  TempDir tmp;
  const fs::path state = tmp.path() / "state";
  fs::create_directories(state);
  std::ofstream(state / "api-key") << "not a key";
  auto key = load_or_create_api_key(state);
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error().code, make_error_code(errc::key_unreadable));
  EXPECT_NE(key.error().message().find("api-key"), std::string::npos);
  EXPECT_EQ(read_all(state / "api-key"), "not a key");

  fs::remove(state / "api-key");
  std::ofstream(tmp.path() / "elsewhere") << std::string(64, 'b');
  fs::create_symlink(tmp.path() / "elsewhere", state / "api-key");
  EXPECT_FALSE(load_or_create_api_key(state));
}

TEST(ApiKey, RandomHexAndConstantTimeCompare) {
  // Guards against a predictable or short token and a comparison that accepts prefixes.
  auto a = random_hex(32);
  auto b = random_hex(32);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(equal_constant_time(*a, *a));
  EXPECT_FALSE(equal_constant_time(*a, *b));
  EXPECT_FALSE(equal_constant_time(*a, a->substr(0, 63)));
  EXPECT_FALSE(equal_constant_time("", *a));
}

}  // namespace
}  // namespace lanspread::app
