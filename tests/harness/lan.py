"""Hosts as network namespaces on switched LANs.

A Lan owns a switch namespace holding Linux bridges (one per LAN segment) and any number of
Host namespaces, each plugged into one or more bridges by veth pairs. Hosts get IPv4
addresses (given, or the next free one of the bridge's 198.18.N.0/24) and IPv6 link-local
addresses (no duplicate address detection delay). Links can be added, removed, renamed,
rate-limited (`tc tbf`, both directions) and made to drop IP multicast while programs run.
Every name carries the test's pid (see cleanup.py), and everything is deleted by `close()`,
at exit, on SIGTERM, or by the reaper after a SIGKILL."""
import dataclasses
import json
import ipaddress
import itertools
import socket
import time

from . import cleanup
from .namespace import in_namespace, ns_connect, ns_socket
from .sh import run

_lan_numbers = itertools.count(1)
_swept = False


def _ns_sysctl(ns, *settings):
    run(["ip", "netns", "exec", ns, "sysctl", "-qw", *settings])


def _create_namespace(ns):
    run(["ip", "netns", "add", ns])
    # Addresses usable at once: no duplicate address detection delay for IPv6.
    _ns_sysctl(ns, "net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0")
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


@dataclasses.dataclass
class Link:
    """One interface of a host. `ifname` carries the address; `veth` is the wire to the
    switch (the same device unless the host bridges it, see Host.attach(host_bridge=...))."""
    ifname: str
    veth: str
    port: str  # the veth's peer in the switch namespace
    bridge: str
    cidr: str | None
    host_bridge: bool = False
    rate: str | None = None
    burst: str = "256kb"

    @property
    def ip(self):
        return self.cidr.split("/")[0] if self.cidr else None


class Host:
    """A machine on the LAN: a network namespace with links to bridges."""

    def __init__(self, lan, name, ns):
        self.lan = lan
        self.name = name
        self.ns = ns
        self.links = {}  # ifname -> Link
        self.rate = None
        self.multicast_blocked = False
        self._veths = itertools.count(0)

    def __repr__(self):
        return f"Host({self.name}, {self.ns})"

    # --- links -------------------------------------------------------------------------
    def attach(self, bridge="br0", ip="auto", ifname=None, rate=None, host_bridge=None,
               burst="256kb"):
        """Plugs a new interface into `bridge` (also while programs run) and returns its Link.

        ip: "auto" (next free address of the bridge's /24), a CIDR "198.18.5.7/24", or None
        (IPv6 link-local only). ifname: default eth0, eth1, ... host_bridge: a name such as
        "br0" makes the host's only interface a bridge of that name with the veth enslaved
        (the address goes on the bridge). rate: a `tc` rate ("100mbit") on this link in both
        directions (defaults to the host's rate)."""
        self.lan.bridge(bridge)
        n = next(self._veths)
        ifname = ifname or (host_bridge if host_bridge else f"eth{n}")
        veth = f"veth{n}" if host_bridge else ifname
        port = self.lan._port_name(bridge)
        cidr = self.lan._address(bridge) if ip == "auto" else ip
        sw = self.lan.switch
        run(["ip", "link", "add", veth, "netns", self.ns, "type", "veth", "peer", "name", port,
             "netns", sw])
        run(["ip", "-n", sw, "link", "set", port, "master", bridge])
        run(["ip", "-n", sw, "link", "set", port, "up"])
        if host_bridge:
            run(["ip", "-n", self.ns, "link", "add", host_bridge, "type", "bridge"])
            run(["ip", "-n", self.ns, "link", "set", host_bridge, "type", "bridge",
                 "mcast_snooping", "0", "stp_state", "0", "forward_delay", "0"])
            run(["ip", "-n", self.ns, "link", "set", veth, "master", host_bridge])
            run(["ip", "-n", self.ns, "link", "set", veth, "up"])
        if cidr:
            run(["ip", "-n", self.ns, "addr", "add", cidr, "dev", ifname])
        run(["ip", "-n", self.ns, "link", "set", ifname, "up"])
        link = Link(ifname, veth, port, bridge, cidr, bool(host_bridge), rate or self.rate,
                    burst)
        self.links[ifname] = link
        self._wait_up(link)
        if link.rate or self.multicast_blocked:
            self._apply_tc(link)
        return link

    def detach(self, ifname):
        """Unplugs an interface (while programs run): its veth pair is deleted."""
        link = self.links.pop(ifname)
        run(["ip", "-n", self.ns, "link", "delete", link.veth])
        if link.host_bridge:
            run(["ip", "-n", self.ns, "link", "delete", link.ifname])

    def rename(self, ifname, new_name):
        """Renames an interface while programs run (down, rename, up; IPv4 addresses stay,
        the IPv6 link-local address comes back with the link)."""
        link = self.links.pop(ifname)
        run(["ip", "-n", self.ns, "link", "set", ifname, "down"])
        run(["ip", "-n", self.ns, "link", "set", ifname, "name", new_name])
        run(["ip", "-n", self.ns, "link", "set", new_name, "up"])
        if link.veth == link.ifname:
            link.veth = new_name
        link.ifname = new_name
        self.links[new_name] = link
        self._wait_up(link)

    def set_link(self, ifname, up):
        run(["ip", "-n", self.ns, "link", "set", ifname, "up" if up else "down"])
        if up:
            self._wait_up(self.links[ifname])

    def _wait_up(self, link, timeout=5.0):
        """Returns once both ends of the link are operationally up. Until then the kernel
        (linkwatch, up to a second late) has not started the device's queue, and what is
        sent is silently dropped: a test's first packet would be lost."""
        ends = [(self.ns, link.veth), (self.ns, link.ifname), (self.lan.switch, link.port)]
        deadline = time.monotonic() + timeout
        for ns, dev in ends:
            while " state UP " not in run(["ip", "-n", ns, "-o", "link", "show", "dev",
                                           dev]).stdout:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{dev} in {ns} is not up after {timeout} s")
                time.sleep(0.01)

    def ip(self, ifname=None):
        """The IPv4 address (no prefix) of `ifname`, or of the first link that has one."""
        links = [self.links[ifname]] if ifname else list(self.links.values())
        return next((link.ip for link in links if link.ip), None)

    def ipv6_link_local(self, ifname=None):
        """The fe80:: address of `ifname` (default: the first link), without scope."""
        ifname = ifname or next(iter(self.links))
        out = run(["ip", "-n", self.ns, "-6", "-o", "addr", "show", "dev", ifname, "scope",
                   "link"]).stdout
        for line in out.splitlines():
            parts = line.split()
            return parts[parts.index("inet6") + 1].split("/")[0]
        return None

    # --- traffic shaping and filtering -------------------------------------------------------
    def tx_bytes(self, ifname="eth0"):
        """Bytes this host has sent on `ifname` (the kernel's counter, read in its namespace)."""
        out = self.run(["ip", "-s", "-j", "link", "show", "dev", ifname]).stdout
        return json.loads(out)[0]["stats64"]["tx"]["bytes"]

    def set_rate(self, rate, ifname=None, burst="256kb"):
        """Limits a link (default: all links, and those attached later) to `rate` in both
        directions with `tc tbf`; rate None removes the limit."""
        if ifname is None:
            self.rate = rate
        for link in ([self.links[ifname]] if ifname else self.links.values()):
            link.rate, link.burst = rate, burst
            self._apply_tc(link)

    def block_multicast(self, blocked=True):
        """Drops IP multicast (IPv4 224.0.0.0/4, IPv6 ff00::/8 except the solicited-node
        groups that neighbour discovery needs) in and out of every link of this host, now and
        for links attached later: mDNS no longer reaches or leaves it, unicast still works."""
        self.multicast_blocked = blocked
        for link in self.links.values():
            self._apply_tc(link)

    def _apply_tc(self, link):
        """Both ends of the link's wire get the same egress tree: the host's veth shapes what
        the host sends, the switch port what it receives. Without multicast blocking the root
        is a plain `tbf`; with it, an `htb` sends IP multicast to a class whose queue holds
        nothing (pfifo limit 0) and the rest to the `tbf` (or a pfifo)."""
        for ns, dev in ((self.ns, link.veth), (self.lan.switch, link.port)):
            tc = ["tc", "-n", ns]
            run(tc + ["qdisc", "del", "dev", dev, "root"], check=False)
            shaper = ["tbf", "rate", link.rate, "burst", link.burst, "latency", "50ms"] \
                if link.rate else None
            if not self.multicast_blocked:
                if shaper:
                    run(tc + ["qdisc", "add", "dev", dev, "root", "handle", "1:", *shaper])
                continue
            run(tc + ["qdisc", "add", "dev", dev, "root", "handle", "1:", "htb", "default",
                      "10"])
            for cls, rate in (("1:10", "100gbit"), ("1:20", "8bit")):
                run(tc + ["class", "add", "dev", dev, "parent", "1:", "classid", cls, "htb",
                          "rate", rate, "quantum", "1514"])
            run(tc + ["qdisc", "add", "dev", dev, "parent", "1:10", "handle", "10:",
                      *(shaper or ["pfifo", "limit", "1000"])])
            run(tc + ["qdisc", "add", "dev", dev, "parent", "1:20", "handle", "20:", "pfifo",
                      "limit", "0"])
            for prio, proto, match, flow in (("1", "ipv6", ["ip6", "dst", "ff02::1:ff00:0/104"],
                                              "1:10"),
                                             ("2", "ip", ["ip", "dst", "224.0.0.0/4"], "1:20"),
                                             ("3", "ipv6", ["ip6", "dst", "ff00::/8"], "1:20")):
                run(tc + ["filter", "add", "dev", dev, "parent", "1:", "protocol", proto,
                          "prio", prio, "u32", "match", *match, "flowid", flow])

    # --- programs ----------------------------------------------------------------------------
    def argv(self, argv):
        """`argv` wrapped to run inside this host."""
        return ["ip", "netns", "exec", self.ns, *map(str, argv)]

    def run(self, argv, check=True, timeout=60.0, input=None):
        """Runs a command inside this host to completion, bounded by `timeout`."""
        return run(self.argv(argv), check=check, timeout=timeout, input=input)

    def spawn(self, argv, log=None, capture=True, env=None, name=None):
        """Starts a program inside this host (see process.Process); it is killed at cleanup."""
        from .process import Process
        return Process(self.argv(argv), log=log, capture=capture, env=env,
                       name=name or f"{self.name}:{argv[0]}")

    def serve(self, workdir, **kwargs):
        """Starts `lanspread serve` on this host (see daemon.Daemon)."""
        from .daemon import Daemon
        return Daemon(self, workdir, **kwargs)

    def socket(self, family=socket.AF_INET, type=socket.SOCK_STREAM, proto=0):
        """A socket inside this host's network namespace."""
        return ns_socket(self.ns, family, type, proto)

    def connect(self, address, timeout=10.0):
        """A TCP connection made from this host."""
        return ns_connect(self.ns, address, timeout)

    def call(self, function, timeout=10.0):
        """function() run on a thread inside this host's network namespace."""
        return in_namespace(self.ns, function, timeout)


class Lan:
    """A switch namespace with bridges, and the hosts plugged into them.

        lan = Lan()
        seed = lan.host("seed", rate="100mbit")       # eth0 on br0, 198.18.1.1/24
        gw = lan.host("gw", links=["br1", "br2"])      # eth0 on br1, eth1 on br2
        lan.close()                                     # or: with Lan() as lan: ...
    """

    def __init__(self):
        global _swept
        if not _swept:
            cleanup.sweep_stale()
            _swept = True
        cleanup.ensure_reaper()
        self.number = next(_lan_numbers)
        self.hosts = {}
        self.namespaces = []
        self._bridges = {}  # name -> [subnet, next host number, next port number]
        self._closed = False
        self._token = cleanup.register(f"lan {self.number}", self.close)
        self.switch = self._namespace("switch")

    def _namespace(self, name):
        ns = cleanup.ns_name(f"{self.number}-{name}")
        _create_namespace(ns)
        self.namespaces.append(ns)
        return ns

    def bridge(self, name="br0", subnet=None):
        """Creates bridge `name` (idempotent) and returns it. Its hosts' automatic addresses
        come from `subnet` (default 198.18.N.0/24, N counting bridges from 1)."""
        if name not in self._bridges:
            if len(name) > 11:
                raise ValueError(f"bridge name {name!r}: at most 11 characters")
            sw = self.switch
            run(["ip", "-n", sw, "link", "add", name, "type", "bridge"])
            # Forward multicast at once (no snooping, no STP listening delay).
            run(["ip", "-n", sw, "link", "set", name, "type", "bridge", "mcast_snooping", "0",
                 "stp_state", "0", "forward_delay", "0"])
            run(["ip", "-n", sw, "link", "set", name, "up"])
            net = ipaddress.ip_network(subnet or f"198.18.{len(self._bridges) + 1}.0/24")
            self._bridges[name] = [net, 1, 1]
        return name

    def _address(self, bridge):
        entry = self._bridges[bridge]
        net, n = entry[0], entry[1]
        entry[1] += 1
        return f"{net.network_address + n}/{net.prefixlen}"

    def _port_name(self, bridge):
        entry = self._bridges[bridge]
        entry[2] += 1
        return f"{bridge}p{entry[2] - 1}"

    def host(self, name, links=("br0",), ip="auto", rate=None, host_bridge=None,
             block_multicast=False):
        """Creates a host plugged into each bridge of `links` (eth0, eth1, ...).

        links: bridge names, or (bridge, cidr) pairs; [] for a host with no link yet.
        ip: the address of the first link when `links` names bridges only ("auto" or a
        CIDR). rate, host_bridge, block_multicast: see Host.attach / Host.block_multicast."""
        if name in self.hosts or name == "switch":
            raise ValueError(f"host {name!r} already exists on this LAN")
        h = Host(self, name, self._namespace(name))
        self.hosts[name] = h
        h.rate = rate
        h.multicast_blocked = block_multicast
        for i, spec in enumerate(links):
            bridge, cidr = (spec, ip if i == 0 else "auto") if isinstance(spec, str) else spec
            h.attach(bridge, cidr, host_bridge=host_bridge if i == 0 else None)
        return h

    def close(self):
        """Deletes the hosts and the switch (programs inside them are killed)."""
        if self._closed:
            return
        self._closed = True
        cleanup.unregister(self._token)
        for ns in reversed(self.namespaces):
            cleanup.delete_namespace(ns)
        self.namespaces = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
