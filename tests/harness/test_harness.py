#!/usr/bin/python3
"""The harness itself: if it silently did less than it says (a rate limit not applied,
multicast not blocked, a namespace left behind), every test built on it would pass or fail
for the wrong reason. Usage: test_harness.py --tool <lanspread binary>"""
import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import harness  # noqa: E402
from harness import run  # noqa: E402

MDNS_GROUP = "224.0.0.251"


def multicast_receiver(host, port):
    s = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    mreq = struct.pack("4s4s", socket.inet_aton(MDNS_GROUP), socket.inet_aton(host.ip()))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
    s.settimeout(0.5)
    return s


def multicast_send(host, port, payload=b"hello"):
    s = host.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(host.ip()))
    with s:
        s.sendto(payload, (MDNS_GROUP, port))


def send_udp(host, address, payload=b"x", count=1):
    family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
    with host.socket(family, socket.SOCK_DGRAM) as s:
        for _ in range(count):
            s.sendto(payload, address)


def received(sock):
    try:
        return sock.recv(100)
    except socket.timeout:
        return None


def own_namespaces(pid):
    return [n for n in harness.cleanup.list_namespaces()
            if n.startswith(f"{harness.cleanup.PREFIX}{pid}-")]


class Network(harness.TestCase):
    def test_hosts_reach_each_other_over_ipv4_and_link_local_ipv6(self):
        """Guards against hosts that cannot talk (a missing address, a bridge port down, IPv6
        addresses still in duplicate address detection)."""
        lan = self.lan()
        a, b = lan.host("a"), lan.host("b")
        self.assertEqual((a.ip(), b.ip()), ("198.18.1.1", "198.18.1.2"))
        udp = harness.UdpCounter(b, 5000)
        send_udp(a, (b.ip(), 5000), b"x")
        self.assertEqual(udp.wait_count(1, 5, src=a.ip()), 1)
        ll = b.ipv6_link_local()
        self.assertTrue(ll.startswith("fe80::"), ll)
        udp6 = harness.UdpCounter(b, 5001, family=socket.AF_INET6)
        send_udp(a, (ll + "%eth0", 5001), b"y")
        self.assertEqual(udp6.wait_count(1, 5, src=a.ipv6_link_local()), 1)

    def test_rate_limit_is_installed_on_both_sides_of_the_link(self):
        """Guards against a `rate=` that shapes nothing (the download tests would then finish
        before they can be interrupted)."""
        lan = self.lan()
        h = lan.host("seed", rate="100mbit")
        inside = run(["tc", "-n", h.ns, "qdisc", "show", "dev", "eth0"]).stdout
        port = h.links["eth0"].port
        outside = run(["tc", "-n", lan.switch, "qdisc", "show", "dev", port]).stdout
        for text in (inside, outside):
            self.assertIn("tbf", text)
            self.assertIn("rate 100Mbit", text)
        h.set_rate(None)
        self.assertNotIn("tbf", run(["tc", "-n", h.ns, "qdisc", "show", "dev", "eth0"]).stdout)

    def test_blocked_multicast_neither_arrives_nor_leaves_but_unicast_does(self):
        """Guards against a "multicast blocked" host that still hears or sends mDNS."""
        lan = self.lan()
        a, b = lan.host("a"), lan.host("b")
        rx = multicast_receiver(b, 5353)
        self.addCleanup(rx.close)
        multicast_send(a, 5353)
        self.assertEqual(received(rx), b"hello")
        b.block_multicast()
        multicast_send(a, 5353)
        self.assertIsNone(received(rx))
        rx_a = multicast_receiver(a, 5353)
        self.addCleanup(rx_a.close)
        multicast_send(b, 5353)
        self.assertIsNone(received(rx_a))
        udp = harness.UdpCounter(b, 6000)
        send_udp(a, (b.ip(), 6000), b"u")
        self.assertEqual(udp.wait_count(1, 5), 1)
        udp6 = harness.UdpCounter(b, 6001, family=socket.AF_INET6)
        send_udp(a, (b.ipv6_link_local() + "%eth0", 6001), b"v")
        self.assertEqual(udp6.wait_count(1, 5), 1, "neighbour discovery was blocked too")
        b.block_multicast(False)
        multicast_send(a, 5353)
        self.assertEqual(received(rx), b"hello")

    def test_links_added_renamed_removed_and_a_host_bridge(self):
        """Guards against topology changes that leave the host unreachable or half-configured."""
        lan = self.lan()
        roamer = lan.host("roamer", links=[])
        other = lan.host("other", links=["br2"])
        self.assertEqual(roamer.links, {})
        roamer.attach("br2")
        udp = harness.UdpCounter(other, 7000)
        send_udp(roamer, (other.ip(), 7000), b"1")
        self.assertEqual(udp.wait_count(1, 5), 1)
        roamer.rename("eth0", "lan7")
        self.assertEqual(list(roamer.links), ["lan7"])
        self.assertEqual(roamer.ip("lan7"), roamer.ip())
        send_udp(roamer, (other.ip(), 7000), b"2")
        self.assertEqual(udp.wait_count(2, 5), 2)
        roamer.detach("lan7")
        self.assertNotIn("lan7", run(["ip", "-n", roamer.ns, "link"]).stdout)
        bridged = lan.host("bridged", links=["br2"], host_bridge="br0")
        self.assertEqual(list(bridged.links), ["br0"])
        out = run(["ip", "-n", bridged.ns, "-o", "addr", "show", "dev", "br0"]).stdout
        self.assertIn(bridged.ip(), out)
        send_udp(bridged, (other.ip(), 7000), b"3")
        self.assertEqual(udp.wait_count(1, 5, src=bridged.ip()), 1)

    def test_sniffer_counts_packets_to_a_port_nobody_listens_on(self):
        """Guards against a packet count that misses traffic a peer sends to a closed port."""
        lan = self.lan()
        a, b = lan.host("a"), lan.host("b")
        sniff = harness.Sniffer(b, "eth0")
        send_udp(a, (b.ip(), 9), b"z", count=5)
        got = sniff.wait_count(5, 5, src=a.ip(), dport=9, direction="in")
        self.assertEqual(got, 5)


class Daemons(harness.TestCase):
    def test_daemon_lifecycle_and_api_key(self):
        """Guards against a daemon helper that reports ready before the API answers, loses
        its dirs on restart, or cannot talk to a daemon that requires its API key."""
        lan = self.lan()
        h = lan.host("solo")
        harness.make_game(self.work.sub("solo", "games"), "openarena", "7", {"a.bin": 1000})
        d = self.serve(h)
        self.assertEqual(d.api.json("/api/v1/status")["name"], "solo")
        first_id = d.peer_id
        self.assertTrue(d.api.wait_until(
            lambda b: any(g["id"] == "openarena" and g["downloaded"] for g in b["games"]),
            10, path="/api/v1/games"))
        d.pause()
        with self.assertRaises(harness.ApiError):
            d.api.get("/api/v1/status", timeout=1)
        d.resume()
        self.assertEqual(d.api.get("/api/v1/status").status, 200)
        self.assertEqual(d.stop(), 0)
        d.restart()
        self.assertEqual(d.peer_id, first_id, "the state dir was not kept")
        with open(d.key_file, "w") as f:
            f.write("sekrit\n")
        self.assertEqual(d.api.headers()["Authorization"], "Bearer sekrit")
        self.assertNotIn("Authorization", d.api.anonymous().headers())
        d.kill()
        self.assertFalse(d.running())
        self.assertIn("API on http://127.0.0.1:7878/", d.log_text())

    def test_test_data_is_deterministic_and_trees_compare_byte_for_byte(self):
        """Guards against a tree comparison that misses a changed byte."""
        a = harness.make_game(self.work.sub("a"), "openarena", "1", {"d/x.pak": 3000}, seed=1)
        b = harness.make_game(self.work.sub("b"), "openarena", "1", {"d/x.pak": 3000}, seed=1)
        harness.assert_same_tree(a, b)
        with open(os.path.join(b, "d", "x.pak"), "r+b") as f:
            f.seek(1234)
            byte = f.read(1)
            f.seek(1234)
            f.write(bytes([byte[0] ^ 1]))
        self.assertEqual(harness.tree_differences(a, b), ["d/x.pak: same size, different bytes"])
        self.assertGreater(harness.rss_bytes(os.getpid()), 0)
        self.assertGreaterEqual(harness.cpu_seconds(os.getpid()), 0)


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    import harness
    lan = harness.Lan()
    a = lan.host("a")
    a.spawn(["sleep", "600"])
    print("up", flush=True)
    time.sleep(600)
""")


class Cleanup(harness.TestCase):
    def child(self):
        tests = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        p = subprocess.Popen([sys.executable, "-c", CHILD.format(tests=tests)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(p.stderr.close)
        self.addCleanup(p.stdout.close)
        self.addCleanup(lambda: p.poll() is None and p.kill())
        self.assertEqual(p.stdout.readline().strip(), "up", p.stderr.read() if p.poll() else "")
        self.assertEqual(len(own_namespaces(p.pid)), 2)
        return p

    def gone(self, pid):
        return harness.wait_until(lambda: not own_namespaces(pid), 10)

    def test_sigterm_deletes_namespaces_and_kills_programs(self):
        """Guards against a CTest timeout (SIGTERM) leaving namespaces and daemons behind."""
        p = self.child()
        p.send_signal(signal.SIGTERM)
        self.assertEqual(p.wait(20), 128 + signal.SIGTERM)
        self.assertTrue(self.gone(p.pid), own_namespaces(p.pid))

    def test_sigkill_is_cleaned_up_by_the_reaper(self):
        """Guards against a killed test process (SIGKILL) leaving namespaces behind."""
        p = self.child()
        p.kill()
        p.wait(10)
        self.assertTrue(self.gone(p.pid), own_namespaces(p.pid))


if __name__ == "__main__":
    harness.main()
