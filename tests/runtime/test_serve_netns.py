#!/usr/bin/python3
"""Real `lanspread serve` peers on three hosts (network namespaces on one bridge): they find
each other over mDNS, list each other's games through QUIC, follow changes, and drop peers
that leave or die. State is read through each daemon's HTTP API inside its namespace.
Usage: test_serve_netns.py --tool <lanspread binary>"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402


def game(body, gid):
    return next((g for g in body["games"] if g["id"] == gid), None)


def seconds_until(daemon, path, predicate, timeout):
    """How long until predicate(GET path) held, or None when it did not within timeout."""
    start = time.monotonic()
    if daemon.api.wait_until(predicate, timeout, path=path) is None:
        return None
    return time.monotonic() - start


class ServeOnALan(harness.TestCase):
    def setUp(self):
        lan = self.lan()
        hosts = {n: lan.host(n, [("br0", f"198.18.80.{i + 1}/24")])
                 for i, n in enumerate(("alpha", "bravo", "charlie"))}
        harness.make_game(self.work.sub("alpha", "games"), "openarena", "20240115",
                          {"baseoa/pak0.pk3": "x" * 100000})
        harness.make_game(self.work.sub("bravo", "games"), "xonotic", "0.8.6", {})
        self.a, self.b, self.c = (self.serve(hosts[n]) for n in ("alpha", "bravo", "charlie"))
        self.ids = {d.name: d.peer_id for d in (self.a, self.b, self.c)}

    def test_peers_share_libraries_and_follow_changes(self):
        """Guards against peers not finding each other, or not learning each other's games."""
        def sees_both(body):
            oa, xo = game(body, "openarena"), game(body, "xonotic")
            return (oa and oa["latest_version"] == "20240115"
                    and oa["latest_peers"] == [self.ids["alpha"]]
                    and xo and xo["latest_peers"] == [self.ids["bravo"]])
        self.assertIsNotNone(self.c.api.wait_until(sees_both, 20, path="/api/v1/games"),
                             "charlie never saw both libraries")
        peers = self.c.api.json("/api/v1/peers")["peers"]
        self.assertEqual(sorted(p["id"] for p in peers),
                         sorted([self.ids["alpha"], self.ids["bravo"]]))
        self.assertIsNotNone(self.a.api.wait_until(
            lambda b: game(b, "xonotic")["available"], 10, path="/api/v1/games"))

        # A game whose version.ini appears on alpha shows up on bravo within 2 s, once bravo's
        # last fetch of alpha's list is older than the refresh interval (10 s: a peer cannot
        # make others refetch its list more often, whatever revisions it announces).
        self.assertIsNotNone(self.b.api.wait_until(
            lambda b: game(b, "openarena")["available"], 10, path="/api/v1/games"))
        time.sleep(10)
        harness.make_game(self.a.games, "teeworlds", "0.7.5", {"data.bin": "t" * 1000})
        took = seconds_until(self.b, "/api/v1/games",
                             lambda b: game(b, "teeworlds")["latest_version"] == "0.7.5", 10)
        self.assertIsNotNone(took, "bravo never saw teeworlds")
        self.assertLess(took, 2.0)

        # A removed game disappears from the others (within the refresh interval).
        shutil.rmtree(os.path.join(self.a.games, "openarena"))
        self.assertIsNotNone(self.c.api.wait_until(
            lambda b: not game(b, "openarena")["available"], 20, path="/api/v1/games"))

    def test_departures(self):
        """Guards against peers that left staying in the list (downloads would be planned
        from them): a clean stop is seen at once (mDNS goodbye), a killed peer once it stops
        answering pings."""
        for d in (self.a, self.b):
            self.assertIsNotNone(d.api.wait_until(lambda b: len(b["peers"]) == 2, 20,
                                                  path="/api/v1/peers"))
        self.assertEqual(self.c.stop(10), 0)
        gone = seconds_until(
            self.a, "/api/v1/peers",
            lambda b: self.ids["charlie"] not in [p["id"] for p in b["peers"]], 5)
        self.assertIsNotNone(gone, "alpha did not see charlie leave")
        self.assertLess(gone, 2.0)
        self.b.kill()
        pruned = self.a.api.wait_until(lambda b: b["peers"] == [], 45, path="/api/v1/peers")
        self.assertIsNotNone(pruned, "alpha kept the killed peer")


class PartyKey(harness.TestCase):
    def test_only_peers_with_the_key_share(self):
        """Guards against the party key being decorative: a peer with another key must not
        see the party's games, while one with the same key does."""
        key = harness.write_file(self.work.file("party.key"), "lan party 2026\n")
        other = harness.write_file(self.work.file("other.key"), "someone else\n")
        lan = self.lan()
        host, guest, crasher = (lan.host(n, [("br0", f"198.18.90.{i + 1}/24")])
                                for i, n in enumerate(("host", "guest", "crasher")))
        harness.make_game(self.work.sub("host", "games"), "openarena", "1", {})
        self.serve(host, args=["--party-key", key])
        guest = self.serve(guest, args=["--party-key", key])
        crasher = self.serve(crasher, args=["--party-key", other])
        self.assertIsNotNone(guest.api.wait_until(
            lambda b: game(b, "openarena")["available"], 20, path="/api/v1/games"),
            "a peer with the key did not get the party's games")
        time.sleep(3)  # the outsider had the same time and more
        body = crasher.api.json("/api/v1/games")
        self.assertFalse(game(body, "openarena")["available"])


if __name__ == "__main__":
    harness.main()
