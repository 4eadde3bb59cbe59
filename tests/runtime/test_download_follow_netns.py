#!/usr/bin/python3
"""Downloads that follow the peers, between real `lanspread serve` daemons on hosts in network
namespaces: a seeder that appears mid-download joins as a source, a download whose every seeder
went away waits for one and finishes when it is back, peers that disagree about a version's
files are split into groups and the download takes one, and the version guards and `verify`.
Driven and observed through each daemon's HTTP API.
Usage: test_download_follow_netns.py --tool <lanspread binary>"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import CHUNK, sha256_bytes, sha256_file  # noqa: E402

GAME = "openarena"
ENDS = ("operation_finished", "operation_failed", "operation_cancelled")
# The downloaded payload: a finished download is installed at once, into local/ through
# .local.installing/, which the seeders do not have.
PAYLOAD = (".lanspread*", ".local*", "local")


def game(body, gid=GAME):
    """The game's entry, or an empty dict while the daemon has not loaded its library."""
    return next((g for g in body.get("games", []) if g["id"] == gid), {})


class FollowThePeers(harness.TestCase):
    def setUp(self):
        self.net = self.lan()

    def seeder(self, name, ip, version, content, start=True):
        host = self.net.host(name, [("br0", ip)])
        harness.make_game(self.work.sub(name, "games"), GAME, version,
                          {"data/big.pak": content, "data/small.cfg": "seta name player\n"})
        return self.serve(host, start=start)

    def downloader(self, rate, games=None):
        host = self.net.host("downloader", [("br0", "198.18.100.9/24")], rate=rate)
        d = self.serve(host, start=False)
        if games:
            games(d.games)
        d.start()
        return d

    def offered(self, d, version, peers=1, timeout=30):
        return d.api.wait_until(
            lambda b: game(b).get("peers_by_version", {}).get(version) is not None
            and len(game(b)["peers_by_version"][version]) >= peers, timeout, path="/api/v1/games")

    def ended(self, events, kind, timeout):
        return events.next(lambda e: e["type"] in ENDS and e["data"].get("kind") == kind,
                           timeout)

    def test_seeder_joining_mid_download_carries_bytes(self):
        """Guards against a download that keeps to the sources it started with: a seeder
        that appears mid-download with the same version and files joins and sends its share."""
        big = harness.deterministic_bytes(96 * CHUNK, "join")
        first = self.seeder("seed0", "198.18.100.1/24", "1", big)
        late = self.seeder("seed1", "198.18.100.2/24", "1", big, start=False)
        d = self.downloader("120mbit")
        self.assertIsNotNone(self.offered(d, "1"), "the downloader never saw the game")
        events = d.api.event_stream(since=1)
        self.assertEqual(d.api.post(f"/api/v1/games/{GAME}/download").status, 202)
        self.assertIsNotNone(events.next(lambda e: e["type"] == "operation_progress"
                                         and e["data"]["done"] >= CHUNK, 30))
        late.start()
        late_before = late.host.tx_bytes()
        # Both serve while the download still has most of its bytes to go.
        both = events.next(lambda e: e["type"] == "operation_progress"
                           and e["data"].get("active_peers", 0) >= 2, 60)
        self.assertIsNotNone(both, "the late seeder never became an active source")
        end = self.ended(events, "download", 120)
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertEqual(sha256_file(os.path.join(d.games, GAME, "data", "big.pak")),
                         sha256_bytes(big))
        # The late seeder carried real data, not only pings and a manifest.
        self.assertGreater(late.host.tx_bytes() - late_before, 8 * CHUNK)
        self.assertGreater(first.host.tx_bytes(), 8 * CHUNK)

    def test_waits_for_peers_when_every_seeder_is_gone(self):
        """Guards against a download failing 10 s after its only seeder went away: it waits
        in waiting_for_peers, says so, and finishes byte-identical when the seeder is back."""
        big = harness.deterministic_bytes(64 * CHUNK, "wait")
        s = self.seeder("seed0", "198.18.100.1/24", "1", big)
        d = self.downloader("100mbit")
        self.assertIsNotNone(self.offered(d, "1"))
        events = d.api.event_stream(since=1)
        self.assertEqual(d.api.post(f"/api/v1/games/{GAME}/download").status, 202)
        self.assertIsNotNone(events.next(lambda e: e["type"] == "operation_progress"
                                         and e["data"]["done"] >= 2 * CHUNK, 30))
        s.stop()
        waiting = events.next(lambda e: e["type"] in ENDS or (
            e["type"] == "operation_progress" and e["data"]["phase"] == "waiting_for_peers"), 90)
        self.assertEqual(waiting and waiting["type"], "operation_progress", waiting)
        # Well past the old 10 s grace: still waiting, and shown so in the game view.
        time.sleep(15)
        view = d.api.json(f"/api/v1/games/{GAME}")
        self.assertEqual((view.get("active_operation") or {}).get("phase"), "waiting_for_peers",
                         view)
        s.start()
        end = self.ended(events, "download", 180)
        self.assertEqual(end and end["type"], "operation_finished", end)
        harness.assert_same_tree(os.path.join(s.games, GAME), os.path.join(d.games, GAME),
                                 PAYLOAD)

    def test_one_against_one_manifest_disagreement(self):
        """Guards against refusing a download when two peers offer the same version with
        different files: one group is chosen (the same on every run), the download comes from
        it only, and the split is reported as an event and in the game view."""
        a = harness.deterministic_bytes(3 * CHUNK, "left")
        b = harness.deterministic_bytes(3 * CHUNK, "right")
        seeders = [self.seeder("seed0", "198.18.100.1/24", "5", a),
                   self.seeder("seed1", "198.18.100.2/24", "5", b)]
        d = self.downloader(None)
        self.assertIsNotNone(self.offered(d, "5", peers=2))
        events = d.api.event_stream(since=1)
        self.assertEqual(d.api.post(f"/api/v1/games/{GAME}/download").status, 202)
        split = events.of_type("manifest_disagreement", timeout=30, id=GAME)
        self.assertIsNotNone(split, "no manifest_disagreement event")
        data = split["data"]
        self.assertEqual(data["version"], "5")
        self.assertEqual(data["groups"], [1, 1])
        self.assertEqual((data["agreeing"], data["dissenting"]), (1, 1))
        self.assertEqual(len(data["chosen_peers"]), 1)
        end = self.ended(events, "download", 90)
        self.assertEqual(end and end["type"], "operation_finished", end)
        chosen = next(s for s in seeders if s.peer_id == data["chosen_peers"][0])
        harness.assert_same_tree(os.path.join(chosen.games, GAME), os.path.join(d.games, GAME),
                                 PAYLOAD)
        view = d.api.json(f"/api/v1/games/{GAME}")
        self.assertEqual(view["manifest_disagreement"],
                         {"version": "5", "groups": [1, 1], "agreeing": 1, "dissenting": 1})

    def test_version_guards_and_verify_repairs(self):
        """Guards against a download that replaces a newer local version with an older one,
        or re-fetches the version already here; and against a corrupted local file going
        unnoticed: verify checks every chunk against the peers and repairs what differs."""
        big = harness.deterministic_bytes(4 * CHUNK, "verify")
        old = self.seeder("seed0", "198.18.100.1/24", "1",
                          harness.deterministic_bytes(CHUNK, "old"))
        d = self.downloader(None, games=lambda g: harness.make_game(
            g, GAME, "2", {"data/big.pak": big, "data/small.cfg": "seta name player\n"}))
        self.assertIsNotNone(self.offered(d, "1"))
        # Its own copy counts once its first scan has hashed it.
        self.assertIsNotNone(d.api.wait_until(
            lambda b: game(b).get("downloaded") and game(b).get("local_version") == "2", 30,
            path="/api/v1/games"))
        r = d.api.post(f"/api/v1/games/{GAME}/download")
        self.assertEqual((r.status, r.error_code()), (409, "newer_local_version"), r.text)
        r = d.api.post(f"/api/v1/games/{GAME}/verify")
        self.assertEqual((r.status, r.error_code()), (409, "no_sources"), r.text)
        old.stop()

        same = self.seeder("seed1", "198.18.100.2/24", "2", big)
        self.assertIsNotNone(self.offered(d, "2"))
        r = d.api.post(f"/api/v1/games/{GAME}/download")
        self.assertEqual((r.status, r.error_code()), (409, "up_to_date"), r.text)

        # Corrupt one byte of the third chunk, keeping size and mtime (the index is fooled).
        path = os.path.join(d.games, GAME, "data", "big.pak")
        st = os.stat(path)
        with open(path, "r+b") as f:
            f.seek(2 * CHUNK + 7)
            f.write(bytes([big[2 * CHUNK + 7] ^ 0xFF]))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
        events = d.api.event_stream(since=1)
        r = d.api.post(f"/api/v1/games/{GAME}/verify")
        self.assertEqual(r.status, 202, r.text)
        phases = set()
        end = events.next(lambda e: phases.add(e["data"].get("phase"))
                          if e["type"] == "operation_progress"
                          else e["type"] in ENDS and e["data"].get("kind") == "verify", 90)
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertIn("checking", phases)
        self.assertEqual(sha256_file(path), sha256_bytes(big))
        harness.assert_same_tree(os.path.join(same.games, GAME), os.path.join(d.games, GAME),
                                 PAYLOAD)
        # Only the broken chunk crossed the network.
        self.assertLessEqual(end["data"]["bytes_fetched"], CHUNK + 4096)
        self.assertGreaterEqual(end["data"]["bytes_fetched"], CHUNK)


if __name__ == "__main__":
    harness.main()
