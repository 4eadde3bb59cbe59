#include "runtime/peer_name.hpp"

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

// Guards against a peer name (an mDNS label any stranger chooses) that forges log lines
// (newlines, terminal escapes), hides or reverses text (bidi overrides), breaks JSON
// consumers with invalid UTF-8, or floods the page with length.
TEST(PeerName, ControlCharactersAreDropped) {
  EXPECT_EQ(sanitize_peer_name("alice-pc"), "alice-pc");
  EXPECT_EQ(sanitize_peer_name("alice\npeer joined: mallory"), "alicepeer joined: mallory");
  EXPECT_EQ(sanitize_peer_name("\x1b[31mred\x1b[0m\t\r\x7f"), "[31mred[0m");
  EXPECT_EQ(sanitize_peer_name("a\xc2\x85"
                               "b"),
            "ab");                                                          // C1 NEL
  EXPECT_EQ(sanitize_peer_name("evil\xe2\x80\xaegpj.exe"), "evilgpj.exe");  // U+202E
  EXPECT_EQ(sanitize_peer_name("x\xe2\x81\xa6y\xe2\x80\xa8z"), "xyz");      // U+2066, U+2028
  EXPECT_EQ(sanitize_peer_name(std::string("nul\0byte", 8)), "nulbyte");
  EXPECT_EQ(sanitize_peer_name("Jörg's Rechner ☕"), "Jörg's Rechner ☕");  // real text stays
}

TEST(PeerName, InvalidUtf8IsReplaced) {
  const std::string r = "\xef\xbf\xbd";  // U+FFFD
  EXPECT_EQ(sanitize_peer_name("a\xff"
                               "b"),
            "a" + r + "b");
  EXPECT_EQ(sanitize_peer_name("\xc0\xaf"), r + r);                       // overlong '/'
  EXPECT_EQ(sanitize_peer_name("\xed\xa0\x80"), r + r + r);               // a surrogate
  EXPECT_EQ(sanitize_peer_name("\xe2\x82"), r + r);                       // cut short
  EXPECT_EQ(sanitize_peer_name("\xf4\x90\x80\x80"), r + r + r + r);       // beyond U+10FFFF
  EXPECT_EQ(sanitize_peer_name("\xf0\x9f\x8e\xae"), "\xf0\x9f\x8e\xae");  // a 4-byte emoji
}

TEST(PeerName, CutToSixtyFourCodePoints) {
  EXPECT_EQ(sanitize_peer_name(std::string(200, 'a')), std::string(64, 'a'));
  std::string umlauts;
  for (int i = 0; i < 100; ++i) umlauts += "ü";
  std::string expected;
  for (int i = 0; i < 64; ++i) expected += "ü";
  EXPECT_EQ(sanitize_peer_name(umlauts), expected);  // code points, never half a character
}

}  // namespace
}  // namespace lanspread::runtime
