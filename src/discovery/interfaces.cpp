#include "discovery/interfaces.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <map>
#include <string_view>

#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>

namespace lanspread::discovery {

// Bridges that containers and VMs on this host sit behind (docker, libvirt, LXC/LXD, CNI,
// podman, VMware, VirtualBox, overlay networks): answering there would advertise addresses
// nobody on the LAN can reach. A bridge or veth under any other name (say `br0` with the
// machine's LAN address on it) is an ordinary interface.
bool looks_virtual(const std::string& name) {
  static constexpr std::array<std::string_view, 12> prefixes = {
      "docker", "virbr",   "lxcbr",   "lxdbr", "cni",   "podman",
      "vmnet",  "vboxnet", "flannel", "cali",  "weave", "kube-"};
  for (auto p : prefixes) {
    if (name.starts_with(p)) return true;
  }
  // Docker's user-defined networks: `br-` and the first 12 hex digits of the network id.
  if (name.size() == 15 && name.starts_with("br-")) {
    return std::all_of(name.begin() + 3, name.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
  }
  return false;
}

bool interface_allowed(const NetInterface& iface, const InterfacePolicy& policy) {
  if (!policy.only.empty())
    return std::find(policy.only.begin(), policy.only.end(), iface.name) != policy.only.end();
  if (iface.loopback && !policy.include_loopback) return false;
  if (iface.is_virtual && !policy.include_virtual) return false;
  return true;
}

std::vector<NetInterface> enumerate_interfaces(const InterfacePolicy& policy) {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return {};
  std::map<std::string, NetInterface> by_name;
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || ifa->ifa_name == nullptr) continue;
    const unsigned flags = ifa->ifa_flags;
    const bool loopback = (flags & IFF_LOOPBACK) != 0;
    if ((flags & IFF_UP) == 0) continue;
    // Linux loopback lacks IFF_MULTICAST, yet delivers multicast once a route exists; tests
    // that allow loopback rely on that.
    if ((flags & IFF_MULTICAST) == 0 && !loopback) continue;
    const int family = ifa->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    auto& iface = by_name[ifa->ifa_name];
    if (iface.name.empty()) {
      iface.name = ifa->ifa_name;
      iface.index = if_nametoindex(ifa->ifa_name);
      iface.loopback = loopback;
      // A port of a bridge (enslaved) hands what it receives to the bridge, not to sockets
      // on it; the bridge itself is the interface to use.
      std::error_code ec;
      iface.is_virtual = looks_virtual(iface.name) ||
                         std::filesystem::exists("/sys/class/net/" + iface.name + "/brport", ec);
    }
    if (family == AF_INET && policy.ipv4) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr);
      iface.v4.emplace_back(ntohl(sin->sin_addr.s_addr));
    } else if (family == AF_INET6 && policy.ipv6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr);
      boost::asio::ip::address_v6::bytes_type bytes;
      std::copy(std::begin(sin6->sin6_addr.s6_addr), std::end(sin6->sin6_addr.s6_addr),
                bytes.begin());
      iface.v6.emplace_back(bytes);
    }
  }
  freeifaddrs(list);
  std::vector<NetInterface> out;
  for (auto& [name, iface] : by_name) {
    if (iface.index == 0 || (iface.v4.empty() && iface.v6.empty())) continue;
    if (!interface_allowed(iface, policy)) continue;
    std::sort(iface.v4.begin(), iface.v4.end());
    std::sort(iface.v6.begin(), iface.v6.end());
    out.push_back(std::move(iface));
  }
  std::sort(out.begin(), out.end(),
            [](const NetInterface& a, const NetInterface& b) { return a.index < b.index; });
  return out;
}

}  // namespace lanspread::discovery
