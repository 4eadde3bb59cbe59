#!/usr/bin/python3
"""Interoperability with python3-zeroconf, an mDNS stack lanspread did not write.
Usage: test_zeroconf_interop.py --tool <lanspread binary>"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from discover_json import event_of  # noqa: E402

PYTHON = "/usr/bin/python3"
PEER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "zeroconf_peer.py")


class ZeroconfInterop(harness.TestCase):
    def setUp(self):
        lan = self.lan()
        self.ours = lan.host("ours", [("br0", "198.18.50.1/24")])
        self.theirs = lan.host("zc", [("br0", "198.18.50.2/24")])

    def test_zeroconf_browser_resolves_our_service(self):
        """Guards against records other stacks cannot parse or resolve (wrong SRV port,
        malformed TXT, missing address records, bad compression)."""
        self.ours.spawn([self.tool, "discover", "--advertise", "--seconds", "15", "--id",
                                   "ours-0000abcd", "--name", "ours", "--port", "47123", "--rev",
                                   "42", "--txt", "extra=1"])
        zc = self.theirs.spawn([PYTHON, PEER, "browse", "8"])
        got = zc.wait_for(lambda o: o.get("event") == "resolved", 8.0)
        self.assertIsNotNone(got, f"zeroconf did not resolve us; stderr: {zc.stderr}")
        info = got[1]
        self.assertEqual(info["name"], "ours-ours-000._lanspread._udp.local.")
        self.assertEqual(info["port"], 47123)
        self.assertEqual(info["txt"], {"v": "3", "id": "ours-0000abcd", "rev": "42",
                                       "extra": "1"})
        self.assertIn("198.18.50.1", info["addresses"])
        self.assertEqual(info["server"], "ours-ours-000.local.")

    def test_zeroconf_enumerates_our_service_type(self):
        """Guards against generic DNS-SD browsers (service type enumeration) not listing us."""
        self.ours.spawn([self.tool, "discover", "--advertise", "--seconds", "10", "--id",
                                   "ours-0000abcd"])
        time.sleep(1.5)  # probing and the first announcement
        zc = self.theirs.spawn([PYTHON, PEER, "types"])
        got = zc.wait_for(lambda o: o.get("event") == "types", 8.0)
        self.assertIsNotNone(got, f"zeroconf did not finish; stderr: {zc.stderr}")
        self.assertIn("_lanspread._udp.local.", got[1]["types"])

    def test_we_rename_when_zeroconf_already_holds_our_name(self):
        """Guards against two hosts silently sharing one instance name when the other one is
        a foreign stack defending it."""
        zc = self.theirs.spawn([PYTHON, PEER, "register", "10", "198.18.50.2",
                                          "ours-ours-000"])
        self.assertIsNotNone(zc.wait_for(lambda o: o.get("event") == "registered", 8.0),
                             f"zeroconf did not register; stderr: {zc.stderr}")
        ours = self.ours.spawn([self.tool, "discover", "--advertise", "--json", "--seconds",
                                          "3", "--id", "ours-0000abcd", "--name", "ours"])
        self.assertEqual(ours.wait(10), 0)
        summary = ours.wait_for(lambda o: "summary" in o, 2.0)
        self.assertIsNotNone(summary)
        self.assertEqual(summary[1]["summary"]["advertised"], "ours-ours-000 (2)")
        # Both stay visible: the foreign one under its name, ours under the new one.
        peers = {p["instance"] for p in summary[1]["summary"]["peers"]}
        self.assertIn("ours-ours-000", peers)

    def test_our_browser_sees_a_zeroconf_service_and_its_goodbye(self):
        """Guards against our browser depending on quirks of our own responder (record order,
        additionals, compression) and against missing another stack's goodbye."""
        zc = self.theirs.spawn([PYTHON, PEER, "register", "4", "198.18.50.2"])
        self.assertIsNotNone(zc.wait_for(lambda o: o.get("event") == "registered", 8.0),
                             f"zeroconf did not register; stderr: {zc.stderr}")
        ours = self.ours.spawn([self.tool, "discover", "--json", "--seconds", "12"])
        got = ours.wait_for(event_of("seen", "zc-peer-0001"), 4.0)
        self.assertIsNotNone(got, f"we did not see zeroconf's service; stderr: {ours.stderr}")
        peer = got[1]["event"]["peer"]
        self.assertEqual(peer["port"], 47999)
        self.assertEqual(peer["addresses"], ["198.18.50.2"])
        self.assertEqual(peer["txt"], {"v": "1", "id": "zc-peer-0001", "rev": "5",
                                       "extra": "yes"})
        self.assertEqual(peer["instance"], "zeroconf-peer")
        bye = zc.wait_for(lambda o: o.get("event") == "unregistered", 8.0)
        self.assertIsNotNone(bye)
        lost = ours.wait_for(event_of("lost", "zc-peer-0001"), 3.0)
        self.assertIsNotNone(lost, "zeroconf's goodbye was not honoured")
        sys.stderr.write(f"measured: zeroconf goodbye to PeerLost: "
                         f"{(lost[0] - bye[0]) * 1000:.0f} ms\n")


if __name__ == "__main__":
    harness.main()
