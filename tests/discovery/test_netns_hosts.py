#!/usr/bin/python3
"""Discovery between real processes on separate hosts (network namespaces on bridges).
Usage: test_netns_hosts.py --tool <lanspread binary>"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from discover_json import discover, event_of  # noqa: E402
from harness import measured  # noqa: E402

TTL = 2  # seconds; the advertised record TTL, short so a killed host expires quickly


class ThreeHosts(harness.TestCase):
    def setUp(self):
        self.net = self.lan()
        self.ns = {n: self.net.host(n, [("br0", f"198.18.20.{i + 1}/24")])
                   for i, n in enumerate(["alpha", "bravo", "charlie"])}
        self.ids = {n: f"{n}-{i}0000001" for i, n in enumerate(self.ns)}
        self.start = time.time()
        self.procs = {n: discover(self.ns[n], self.ids[n], ttl=TTL) for n in self.ns}

    def assert_all_see_each_other(self, within):
        for n, proc in self.procs.items():
            for other in self.procs:
                if other == n:
                    continue
                got = proc.wait_for(event_of("seen", self.ids[other]), within)
                self.assertIsNotNone(got, f"{n} did not see {other}; stderr: {proc.stderr}")
                self.assertLessEqual(got[0] - self.start, within)
                measured(f"{n} saw {other} after start", got[0] - self.start)
                peer = got[1]["event"]["peer"]
                self.assertIn(f"198.18.20.{list(self.ns).index(other) + 1}", peer["addresses"])
                self.assertEqual(peer["txt"]["v"], "3")

    def test_hosts_see_each_other_within_three_seconds(self):
        """Guards against peers on one LAN not finding each other promptly (or at all)."""
        self.assert_all_see_each_other(3.0)
        for n, proc in self.procs.items():
            self.assertIsNone(proc.wait_for(event_of("seen", self.ids[n]), 0.1),
                              f"{n} reported itself")

    def test_clean_stop_is_seen_within_one_second(self):
        """Guards against a stopped peer lingering because the goodbye is missing or ignored."""
        self.assert_all_see_each_other(3.0)
        stopped = time.time()
        self.procs["bravo"].signal(signal.SIGTERM)
        self.assertEqual(self.procs["bravo"].wait(5), 0)
        for n in ("alpha", "charlie"):
            got = self.procs[n].wait_for(event_of("lost", self.ids["bravo"]), 3.0)
            self.assertIsNotNone(got, f"{n} never lost bravo")
            self.assertLessEqual(got[0] - stopped, 1.0, f"{n} lost bravo too late")
            measured(f"{n} lost bravo after its clean stop", got[0] - stopped)

    def test_killed_host_is_lost_when_its_ttl_runs_out(self):
        """Guards against a crashed peer (no goodbye) never expiring from the cache, and
        against live peers expiring although they answer refresh queries."""
        self.assert_all_see_each_other(3.0)
        time.sleep(2 * TTL)  # several refresh cycles: live peers must stay
        for n, proc in self.procs.items():
            for other in self.procs:
                self.assertIsNone(proc.wait_for(event_of("lost", self.ids[other]), 0.0),
                                  f"{n} lost live {other}")
        killed = time.time()
        self.procs["charlie"].kill()
        for n in ("alpha", "bravo"):
            got = self.procs[n].wait_for(event_of("lost", self.ids["charlie"]), TTL + 3.0)
            self.assertIsNotNone(got, f"{n} never lost charlie")
            self.assertLessEqual(got[0] - killed, TTL + 1.0, f"{n} lost charlie too late")
            measured(f"{n} lost charlie after SIGKILL (TTL {TTL} s)", got[0] - killed)


class TwoInterfaceHost(harness.TestCase):
    def test_host_on_two_lans_is_reachable_on_both(self):
        """Guards against a multi-homed peer answering with the wrong interface's addresses,
        or being visible on one of its networks only."""
        lan = self.lan()
        gw = lan.host("gw", [("br1", "198.18.31.1/24"), ("br2", "198.18.32.1/24")])
        left = lan.host("left", [("br1", "198.18.31.2/24")])
        right = lan.host("right", [("br2", "198.18.32.2/24")])
        procs = {"gw": discover(gw, "gw-00000001", ttl=TTL),
                 "left": discover(left, "left-00000002", ttl=TTL),
                 "right": discover(right, "right-00000003", ttl=TTL)}
        got = procs["left"].wait_for(event_of("seen", "gw-00000001"), 3.0)
        self.assertIsNotNone(got, "left did not see gw")
        addrs = got[1]["event"]["peer"]["addresses"]
        self.assertIn("198.18.31.1", addrs)
        self.assertNotIn("198.18.32.1", addrs)  # unreachable from the left LAN
        got = procs["right"].wait_for(event_of("seen", "gw-00000001"), 3.0)
        self.assertIsNotNone(got, "right did not see gw")
        addrs = got[1]["event"]["peer"]["addresses"]
        self.assertIn("198.18.32.1", addrs)
        self.assertNotIn("198.18.31.1", addrs)
        for other, iface in (("left-00000002", "eth0"), ("right-00000003", "eth1")):
            got = procs["gw"].wait_for(event_of("seen", other), 3.0)
            self.assertIsNotNone(got, f"gw did not see {other}")
            self.assertEqual(got[1]["event"]["peer"]["interfaces"], [iface])
        # The two LANs stay separate: left and right never see each other.
        self.assertIsNone(procs["left"].wait_for(event_of("seen", "right-00000003"), 0.5))


class Ipv6Only(harness.TestCase):
    def test_hosts_find_each_other_over_ipv6_alone(self):
        """Guards against the IPv6 sockets (ff02::fb, scope ids, IPV6_PKTINFO) silently not
        working, which IPv4 would otherwise hide."""
        lan = self.lan()
        one = lan.host("v6a", [("br0", "198.18.70.1/24")])
        two = lan.host("v6b", [("br0", "198.18.70.2/24")])
        procs = [host.spawn([self.tool, "discover", "--json", "--seconds", "10",
                             "--no-ipv4", "--advertise", "--id", pid])
                 for host, pid in ((one, "v6a-00000001"), (two, "v6b-00000002"))]
        got = procs[0].wait_for(event_of("seen", "v6b-00000002"), 3.0)
        self.assertIsNotNone(got, f"no peer over IPv6; stderr: {procs[0].stderr}")
        addrs = got[1]["event"]["peer"]["addresses"]
        self.assertTrue(addrs and all(a.startswith("fe80::") for a in addrs), addrs)
        self.assertTrue(all(a.endswith("%eth0") for a in addrs), "scope id missing")
        self.assertIsNotNone(procs[1].wait_for(event_of("seen", "v6a-00000001"), 3.0))


class InterfaceChanges(harness.TestCase):
    def test_interfaces_plugged_in_or_removed_while_running_are_followed(self):
        """Guards against a peer that started before its network came up never seeing the
        peers there, or keeping peers of a network it has left."""
        rescan = 5.0  # the default interface rescan period
        ttl = 60  # long, so a loss can only come from the rescan
        lan = self.lan()
        roamer = lan.host("roamer", [("br1", "198.18.61.1/24")])
        other = lan.host("other", [("br2", "198.18.62.2/24")])
        procs = {"roamer": discover(roamer, "roamer-00000001", seconds=40, ttl=ttl),
                 "other": discover(other, "other-00000002", seconds=40, ttl=ttl)}
        self.assertIsNone(procs["roamer"].wait_for(event_of("seen", "other-00000002"), 1.5))
        plugged = time.time()
        roamer.attach("br2", "198.18.62.1/24", ifname="eth1")
        got = procs["roamer"].wait_for(event_of("seen", "other-00000002"), rescan + 3.0)
        self.assertIsNotNone(got, "the new interface was not used")
        measured("peer on a newly plugged interface seen after", got[0] - plugged)
        got = procs["other"].wait_for(event_of("seen", "roamer-00000001"), 3.0)
        self.assertIsNotNone(got, "roamer did not announce on its new interface")
        self.assertIn("198.18.62.1", got[1]["event"]["peer"]["addresses"])
        unplugged = time.time()
        roamer.detach("eth1")
        got = procs["roamer"].wait_for(event_of("lost", "other-00000002"), rescan + 2.0)
        self.assertIsNotNone(got, "peers of a removed interface were kept")
        measured("peer of a removed interface lost after", got[0] - unplugged)


class CliAcrossNamespaces(harness.TestCase):
    def test_discover_json_lists_peers_advertising_in_two_other_namespaces(self):
        """Guards against `lanspread discover --json` missing peers or printing a summary
        scripts cannot read."""
        lan = self.lan()
        a = lan.host("obs", [("br0", "198.18.40.1/24")])
        b = lan.host("pb", [("br0", "198.18.40.2/24")])
        c = lan.host("pc", [("br0", "198.18.40.3/24")])
        discover(b, "pb-00000002", seconds=10, ttl=TTL)
        discover(c, "pc-00000003", seconds=10, ttl=TTL)
        obs = a.spawn([self.tool, "discover", "--json", "--seconds", "3"])
        self.assertEqual(obs.wait(10), 0)
        summary = obs.wait_for(lambda o: "summary" in o, 2.0)
        self.assertIsNotNone(summary, f"no summary; stderr: {obs.stderr}")
        peers = {p["id"]: p for p in summary[1]["summary"]["peers"]}
        self.assertEqual(set(peers), {"pb-00000002", "pc-00000003"})
        self.assertEqual(peers["pb-00000002"]["port"], 47000)
        self.assertIn("198.18.40.3", peers["pc-00000003"]["addresses"])
        json.dumps(summary[1])
        # A clear error, not a silent empty list, when nothing can be used.
        bad = a.spawn([self.tool, "discover", "--interface", "nosuch0", "--seconds", "1"])
        self.assertEqual(bad.wait(10), 1)
        bad.close()
        self.assertIn("no multicast-capable interface", "".join(bad.stderr))


if __name__ == "__main__":
    harness.main()
