#include "discovery/interfaces.hpp"

#include <gtest/gtest.h>

namespace lanspread::discovery {
namespace {

NetInterface make(std::string name, bool loopback, bool is_virtual) {
  NetInterface i;
  i.name = std::move(name);
  i.index = 7;
  i.loopback = loopback;
  i.is_virtual = is_virtual;
  return i;
}

// Guards against advertising on loopback or container/VM bridges by default (peers would get
// addresses they cannot reach), and against tests being unable to opt in.
TEST(Interfaces, SkipsLoopbackAndVirtualUnlessAsked) {
  InterfacePolicy policy;
  EXPECT_TRUE(interface_allowed(make("eth0", false, false), policy));
  EXPECT_FALSE(interface_allowed(make("lo", true, false), policy));
  EXPECT_FALSE(interface_allowed(make("docker0", false, true), policy));
  policy.include_loopback = true;
  EXPECT_TRUE(interface_allowed(make("lo", true, false), policy));
  EXPECT_FALSE(interface_allowed(make("docker0", false, true), policy));
  policy.include_virtual = true;
  EXPECT_TRUE(interface_allowed(make("docker0", false, true), policy));
}

// Guards against an explicit interface list being ignored or merged with the defaults.
TEST(Interfaces, AnExplicitListWins) {
  InterfacePolicy policy;
  policy.only = {"lo"};
  EXPECT_TRUE(interface_allowed(make("lo", true, false), policy));
  EXPECT_FALSE(interface_allowed(make("eth0", false, false), policy));
}

// Guards against enumeration missing a usable interface's index or addresses.
TEST(Interfaces, EnumeratesLoopbackWhenAllowed) {
  InterfacePolicy policy;
  policy.only = {"lo"};
  const auto found = enumerate_interfaces(policy);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].name, "lo");
  EXPECT_TRUE(found[0].loopback);
  EXPECT_NE(found[0].index, 0u);
  ASSERT_FALSE(found[0].v4.empty());
  EXPECT_EQ(found[0].v4[0].to_string(), "127.0.0.1");
  policy.ipv4 = false;
  for (const auto& i : enumerate_interfaces(policy)) EXPECT_TRUE(i.v4.empty());
}

}  // namespace
}  // namespace lanspread::discovery
