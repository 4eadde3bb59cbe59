#include "library/hasher.hpp"
#include "library/error.hpp"
#include "temp_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace lanspread::library {
namespace {

std::span<const std::uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Guards against a wrong digest implementation (every chunk check would fail or, worse, pass).
TEST(Hasher, MatchesKnownVectors) {
  EXPECT_EQ(sha256(bytes_of("abc")).hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256(bytes_of("")).hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256Stream s;
  s.update(bytes_of("a"));
  s.update(bytes_of("bc"));
  EXPECT_EQ(s.finish(), sha256(bytes_of("abc")));
  s.update(bytes_of("abc"));  // reusable after finish
  EXPECT_EQ(s.finish(), sha256(bytes_of("abc")));
}

// Guards against chunk hashes covering the wrong byte range of a file.
TEST(Hasher, HashesTheRequestedRange) {
  testing::TempDir dir;
  std::string data(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 31 + 7);
  testing::write_file(dir / "f", data);
  const int fd = ::open((dir / "f").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  auto whole = hash_range(fd, 0, data.size());
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, sha256(bytes_of(data)));
  auto tail = hash_range(fd, 1024 * 1024 + 5, 2 * 1024 * 1024 + 12);
  ASSERT_TRUE(tail);
  EXPECT_EQ(*tail, sha256(bytes_of(std::string_view(data).substr(1024 * 1024 + 5))));
  auto past = hash_range(fd, data.size() - 10, 20);  // file shorter than expected
  ASSERT_FALSE(past);
  EXPECT_EQ(past.error(), errc::file_changed);
  ::close(fd);
}

}  // namespace
}  // namespace lanspread::library
