#!/usr/bin/python3
"""Real `lanspread serve` peers on three hosts (network namespaces on one bridge): they find
each other over mDNS, list each other's games through QUIC, follow changes, and drop peers
that leave or die. State is read through each daemon's HTTP API inside its namespace.
Usage: test_serve_netns.py --tool <lanspread binary>"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "discovery"))
from netns import Lan  # noqa: E402

TOOL = None


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class Host:
    def __init__(self, lan, name, ip, tmp):
        self.name = name
        self.ns = lan.host(name, [("br0", f"{ip}/24")])
        self.games = os.path.join(tmp, name, "games")
        self.state = os.path.join(tmp, name, "state")
        os.makedirs(self.games)
        self.lan = lan
        self.proc = None

    def start(self, extra=()):
        self.proc = self.lan.spawn(self.ns, [TOOL, "serve", "--games", self.games, "--state",
                                             self.state, "--name", self.name, *extra])

    def api(self, path):
        r = subprocess.run(["ip", "netns", "exec", self.ns, "curl", "-s", "--max-time", "5",
                            f"http://127.0.0.1:7878{path}"], capture_output=True, text=True,
                           timeout=10)
        return json.loads(r.stdout) if r.stdout else None

    def wait_api(self, path, predicate, timeout):
        """Polls the API until predicate(body) holds; returns the seconds it took or None."""
        start = time.time()
        while time.time() - start < timeout:
            body = self.api(path)
            if body is not None and predicate(body):
                return time.time() - start
            time.sleep(0.1)
        return None

    def peer_id(self):
        return self.wait_api("/api/v1/status", lambda b: True, 10) is not None and \
            self.api("/api/v1/status")["peer_id"]


def game(body, gid):
    return next((g for g in body["games"] if g["id"] == gid), None)


class ServeOnALan(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lanspread-serve-")
        self.lan = Lan()
        self.a = Host(self.lan, "alpha", "198.18.80.1", self.tmp)
        self.b = Host(self.lan, "bravo", "198.18.80.2", self.tmp)
        self.c = Host(self.lan, "charlie", "198.18.80.3", self.tmp)
        write(os.path.join(self.a.games, "openarena", "version.ini"), "20240115\n")
        write(os.path.join(self.a.games, "openarena", "baseoa", "pak0.pk3"), "x" * 100000)
        write(os.path.join(self.b.games, "xonotic", "version.ini"), "0.8.6\n")
        for h in (self.a, self.b, self.c):
            h.start()
        self.ids = {h.name: h.peer_id() for h in (self.a, self.b, self.c)}

    def tearDown(self):
        self.lan.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_peers_share_libraries_and_follow_changes(self):
        # Guards against peers not finding each other, or not learning each other's games.
        def sees_both(body):
            oa, xo = game(body, "openarena"), game(body, "xonotic")
            return (oa and oa["latest_version"] == "20240115"
                    and oa["latest_peers"] == [self.ids["alpha"]]
                    and xo and xo["latest_peers"] == [self.ids["bravo"]])
        self.assertIsNotNone(self.c.wait_api("/api/v1/games", sees_both, 20),
                             "charlie never saw both libraries")
        peers = self.c.api("/api/v1/peers")["peers"]
        self.assertEqual(sorted(p["id"] for p in peers), sorted([self.ids["alpha"], self.ids["bravo"]]))
        self.assertIsNotNone(self.a.wait_api("/api/v1/games", lambda b: game(b, "xonotic")["available"], 10))

        # A game whose version.ini appears on alpha shows up on bravo within 2 s.
        self.assertIsNotNone(self.b.wait_api(
            "/api/v1/games", lambda b: game(b, "openarena")["available"], 10))
        write(os.path.join(self.a.games, "teeworlds", "data.bin"), "t" * 1000)
        write(os.path.join(self.a.games, "teeworlds", "version.ini"), "0.7.5\n")
        took = self.b.wait_api("/api/v1/games",
                               lambda b: game(b, "teeworlds")["latest_version"] == "0.7.5", 10)
        self.assertIsNotNone(took, "bravo never saw teeworlds")
        self.assertLess(took, 2.0)

        # A removed game disappears from the others.
        shutil.rmtree(os.path.join(self.a.games, "openarena"))
        self.assertIsNotNone(self.c.wait_api(
            "/api/v1/games", lambda b: not game(b, "openarena")["available"], 10))

    def test_departures(self):
        # Guards against peers that left staying in the list (downloads would be planned from
        # them): a clean stop is seen at once (mDNS goodbye), a killed peer once it stops
        # answering pings.
        for h in (self.a, self.b):
            self.assertIsNotNone(h.wait_api("/api/v1/peers", lambda b: len(b["peers"]) == 2, 20))
        self.c.proc.signal(signal.SIGTERM)
        self.assertEqual(self.c.proc.wait(10), 0)
        gone = self.a.wait_api("/api/v1/peers",
                               lambda b: self.ids["charlie"] not in [p["id"] for p in b["peers"]], 5)
        self.assertIsNotNone(gone, "alpha did not see charlie leave")
        self.assertLess(gone, 2.0)
        self.b.proc.kill()
        pruned = self.a.wait_api("/api/v1/peers", lambda b: b["peers"] == [], 45)
        self.assertIsNotNone(pruned, "alpha kept the killed peer")


class PartyKey(unittest.TestCase):
    def test_only_peers_with_the_key_share(self):
        # Guards against the party key being decorative: a peer with another key must not
        # see the party's games, while one with the same key does.
        tmp = tempfile.mkdtemp(prefix="lanspread-party-")
        lan = Lan()
        try:
            key = os.path.join(tmp, "party.key")
            other = os.path.join(tmp, "other.key")
            write(key, "lan party 2026\n")
            write(other, "someone else\n")
            host = Host(lan, "host", "198.18.90.1", tmp)
            guest = Host(lan, "guest", "198.18.90.2", tmp)
            crasher = Host(lan, "crasher", "198.18.90.3", tmp)
            write(os.path.join(host.games, "openarena", "version.ini"), "1\n")
            host.start(["--party-key", key])
            guest.start(["--party-key", key])
            crasher.start(["--party-key", other])
            self.assertIsNotNone(guest.wait_api(
                "/api/v1/games", lambda b: game(b, "openarena")["available"], 20),
                "a peer with the key did not get the party's games")
            time.sleep(3)  # the outsider had the same time and more
            body = crasher.api("/api/v1/games")
            self.assertFalse(game(body, "openarena")["available"])
        finally:
            lan.close()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    args, rest = ap.parse_known_args()
    TOOL = os.path.abspath(args.tool)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
