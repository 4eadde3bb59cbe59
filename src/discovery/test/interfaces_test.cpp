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

namespace lanspread::discovery {
namespace {

// Guards against a host whose LAN address sits on a bridge (`br0`, a veth) finding nobody,
// and against container and VM bridges being used by default.
TEST(Interfaces, ContainerBridgesAreVirtualLanBridgesAreNot) {
  for (const char* name : {"docker0", "virbr0", "lxcbr0", "lxdbr0", "cni0", "podman0",
                           "br-3f9a2c1b7d0e", "vboxnet0", "vmnet8"})
    EXPECT_TRUE(looks_virtual(name)) << name;
  for (const char* name : {"eth0", "br0", "bridge0", "veth0", "br-lan", "enp3s0", "wlan0", "lan0"})
    EXPECT_FALSE(looks_virtual(name)) << name;
}

}  // namespace
}  // namespace lanspread::discovery

#include "discovery/netlink_watcher.hpp"

#include <linux/rtnetlink.h>

#include <cstring>

namespace lanspread::discovery {
namespace {

std::vector<std::uint8_t> netlink_message(std::uint16_t type, std::size_t payload,
                                          std::uint32_t claimed_len = 0) {
  std::vector<std::uint8_t> out(NLMSG_SPACE(payload));
  nlmsghdr h{};
  h.nlmsg_len = claimed_len != 0 ? claimed_len : NLMSG_LENGTH(payload);
  h.nlmsg_type = type;
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

// Guards against a malformed or foreign netlink datagram (short header, a length that runs
// past the datagram, a message too short for its type) being read past its end or counted as
// an interface change, and against a real link or address change being missed.
TEST(Netlink, ChangesAreRecognisedAndMalformedMessagesIgnored) {
  EXPECT_TRUE(netlink_reports_change(netlink_message(RTM_NEWLINK, sizeof(ifinfomsg))));
  EXPECT_TRUE(netlink_reports_change(netlink_message(RTM_DELADDR, sizeof(ifaddrmsg))));
  EXPECT_FALSE(netlink_reports_change(netlink_message(RTM_NEWROUTE, sizeof(rtmsg))));
  EXPECT_FALSE(netlink_reports_change(netlink_message(RTM_NEWADDR, 2)));  // body too short
  auto lying = netlink_message(RTM_NEWLINK, sizeof(ifinfomsg), 4096);
  EXPECT_FALSE(netlink_reports_change(lying));
  auto whole = netlink_message(RTM_NEWLINK, sizeof(ifinfomsg));
  for (std::size_t cut = 0; cut < whole.size(); ++cut)
    EXPECT_FALSE(netlink_reports_change({whole.data(), cut})) << cut;
  // A NOOP followed by a change: the walk reaches the second message.
  auto two = netlink_message(NLMSG_NOOP, 0);
  auto change = netlink_message(RTM_NEWADDR, sizeof(ifaddrmsg));
  two.insert(two.end(), change.begin(), change.end());
  EXPECT_TRUE(netlink_reports_change(two));
}

}  // namespace
}  // namespace lanspread::discovery
