#include "runtime/manual_peers.hpp"

#include <gtest/gtest.h>

namespace lanspread::runtime {
namespace {

std::string parsed(std::string_view text) {
  std::string why;
  auto a = parse_manual_address(text, 1024, why);
  return a ? a->text() : "refused: " + why;
}

// Guards against an address a user typed being dialled somewhere else than meant (wrong
// default port, IPv6 split at the wrong colon) and against privileged or zero ports, or
// garbage, being accepted.
TEST(ManualAddress, ParsesHostsPortsAndIpv6) {
  EXPECT_EQ(parsed("192.168.1.20"), "192.168.1.20:7979");
  EXPECT_EQ(parsed("192.168.1.20:8000"), "192.168.1.20:8000");
  EXPECT_EQ(parsed("alice-pc.local"), "alice-pc.local:7979");
  EXPECT_EQ(parsed("fe80::1%eth0"), "[fe80::1%eth0]:7979");
  EXPECT_EQ(parsed("[2001:db8::5]:9000"), "[2001:db8::5]:9000");
  for (const char* bad : {"", "host:", "host:abc", "host:70000", "host:0", "host:22", "[::1",
                          "[::1]x", "a b", "-x", "1.2.3.4:1023", "[nonsense]:8000"}) {
    EXPECT_TRUE(parsed(bad).starts_with("refused: ")) << bad << " -> " << parsed(bad);
  }
  std::string why;
  EXPECT_FALSE(parse_manual_address("10.0.0.1:80", 1024, why));
  EXPECT_NE(why.find("port 80"), std::string::npos) << why;
}

}  // namespace
}  // namespace lanspread::runtime
