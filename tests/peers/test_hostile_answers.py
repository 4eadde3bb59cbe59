#!/usr/bin/python3
"""A `lanspread serve` victim on a LAN with hostile peers (tests/tools/hostile_server.cpp,
announced over mDNS like real ones) and one well-behaved peer. The hostile peers answer
ListGames with a 64 MiB frame or with deep nesting, answer GetGame with a 64 MiB manifest
of endless chunk hashes, and bump their library revision in every Pong.
Usage: test_hostile_answers.py --tool <lanspread> --tool hostile_server=<hostile_server>"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

MIB = 1 << 20
RSS_BOUND = 128 * MIB
WINDOW = 45  # seconds under attack


def game(body, gid):
    return next((g for g in body["games"] if g["id"] == gid), None)


def requests(proc, kind, asker):
    """How many `kind` requests the hostile server has logged from peer `asker` so far."""
    proc.wait_for(lambda o: False, 0.3)  # takes in the lines printed until now
    return sum(1 for _, o in proc.seen if o.get("request") == kind and o.get("from") == asker)


class HostileAnswers(harness.TestCase):
    def hostile(self, host, *args):
        """Starts a hostile server on `host`; returns its process and peer id."""
        state = self.work.sub(host.name, "state")
        log = self.work.file(host.name, "hostile.log")
        self.work.add_log(log)
        proc = host.spawn([harness.tool("hostile_server"), "--state", state, "--name", host.name,
                           *map(str, args)], log=log, name=f"hostile {host.name}")
        ready = proc.wait_for(lambda o: "ready" in o, 10)
        self.assertIsNotNone(ready, f"{host.name}: the hostile server did not start")
        return proc, ready[1]["ready"]["peer_id"]

    def test_bombs_and_revision_bumps_keep_memory_bounded(self):
        """Guards against a peer's answers driving a victim's memory up (a 64 MiB game list
        or manifest used to be buffered and built into a JSON tree, about 1.8 GB RSS with
        revision bumps making it refetch every ping), and against the victim then failing
        its well-behaved peers."""
        lan = self.lan()
        victim_host, good_host = lan.host("victim"), lan.host("good")
        listing, manifest, deep = lan.host("listing"), lan.host("manifest"), lan.host("deep")
        harness.make_game(self.work.sub("good", "games"), "xonotic", "0.8.6",
                          {"data/xonotic.pk3": 300000})
        good = self.serve(good_host)
        bomb, bomb_id = self.hostile(listing, "--games-bomb", 64 * MIB, "--bump-rev")
        self.hostile(manifest, "--game-bomb", 64 * MIB, "--bump-rev")
        self.hostile(deep, "--deep", 2 * MIB, "--bump-rev")
        victim = self.serve(victim_host)

        def sees_good(body):
            xo, oa = game(body, "xonotic"), game(body, "openarena")
            return (xo and xo["latest_peers"] == [good.peer_id]
                    and oa and oa["latest_version"] == "999")  # offered by `manifest`
        self.assertIsNotNone(victim.api.wait_until(sees_good, 30, path="/api/v1/games"),
                             "the victim never listed the good peer's game")

        events = victim.api.event_stream()
        started = time.monotonic()
        lists_before = requests(bomb, "ListGames", victim.peer_id)
        downloads = failed = 0
        with harness.Sampler(victim.pid, 0.05) as rss:
            while time.monotonic() - started < WINDOW:
                # Each download asks `manifest` for its 64 MiB manifest.
                r = victim.api.post("/api/v1/games/openarena/download")
                if r.status == 202:
                    downloads += 1
                    end = events.of_type("operation_failed", "operation_finished", timeout=30)
                    self.assertIsNotNone(end, "a download against the manifest bomb never ended")
                    self.assertEqual(end["type"], "operation_failed", end)
                    failed += 1
                time.sleep(1)
        elapsed = time.monotonic() - started
        harness.measured("victim peak RSS under attack", rss.max_rss // MIB, "MiB")
        harness.measured("downloads refused against the manifest bomb", downloads, "")
        self.assertGreaterEqual(downloads, 3)
        self.assertEqual(failed, downloads)
        self.assertLess(rss.max_rss, RSS_BOUND,
                        f"victim RSS reached {rss.max_rss // MIB} MiB under attack")

        # Revision bumps in every Pong: the list is asked for at most once per 10 s.
        lists = requests(bomb, "ListGames", victim.peer_id) - lists_before
        pings = requests(bomb, "Ping", victim.peer_id)
        harness.measured(f"ListGames asked of a rev-bumping peer in {elapsed:.0f} s", lists, "")
        self.assertGreater(pings, 5, "the victim stopped pinging the hostile peer")
        self.assertLessEqual(lists, elapsed / 10 + 2)

        # Still serving its user and listing its good peer; the hostile ones are listed
        # (they are real peers that answer) but their bombs were refused.
        body = victim.api.json("/api/v1/games")
        self.assertEqual(game(body, "xonotic")["latest_peers"], [good.peer_id])
        self.assertIn(bomb_id, [p["id"] for p in victim.api.json("/api/v1/peers")["peers"]])
        self.assertTrue(victim.running())

    def test_honest_mode_serves_a_real_game(self):
        """Guards against the hostile server drifting from the protocol where it means to
        follow it: serving a games dir honestly, a real daemon downloads a game from it byte
        for byte (so its misbehaviours are the only differences tests see)."""
        lan = self.lan()
        seed, leech = lan.host("seed"), lan.host("leech")
        games = self.work.sub("seed", "games")
        harness.make_game(games, "xonotic", "0.8.6", {"data/a.pk3": 3 * harness.CHUNK + 17,
                                                      "readme.txt": 100})
        self.hostile(seed, "--games", games)
        self.download_and_compare(self.serve(leech), games,
                                  ("data/a.pk3", "readme.txt", "version.ini"))

    def download_and_compare(self, d, games, names):
        """Daemon `d` downloads xonotic once it sees it; each of `names` must then hold the
        same bytes as in `games`."""
        self.assertIsNotNone(d.api.wait_until(
            lambda b: game(b, "xonotic")["available"], 30, path="/api/v1/games"))
        events = d.api.event_stream()
        self.assertEqual(d.api.post("/api/v1/games/xonotic/download").status, 202)
        end = events.of_type("operation_finished", "operation_failed", timeout=60, kind="download")
        self.assertEqual(end and end["type"], "operation_finished", end)
        for name in names:
            self.assertEqual(harness.sha256_file(os.path.join(games, "xonotic", name)),
                             harness.sha256_file(os.path.join(d.games, "xonotic", name)), name)

    def test_an_older_peer_gets_small_files_one_at_a_time(self):
        """Guards against a download from a peer of protocol revision 2 failing or stalling on
        a game of many small files: that peer refuses GetGameFiles as an unknown request, and
        the downloader then asks it for each file on its own, the whole game arriving byte
        for byte after a few refused batches."""
        lan = self.lan()
        seed, leech = lan.host("seed"), lan.host("leech")
        games = self.work.sub("seed", "games")
        files = {f"maps/m{i:03}.cfg": harness.deterministic_bytes(1 + i * 97, i)
                 for i in range(300)}
        harness.make_game(games, "xonotic", "0.8.6", files)
        proc, _ = self.hostile(seed, "--games", games)
        d = self.serve(leech)
        self.download_and_compare(d, games, [*files, "version.ini"])
        batches = requests(proc, "GetGameFiles", d.peer_id)
        singles = requests(proc, "GetGameFileChunk", d.peer_id)
        harness.measured("GetGameFiles asked of a revision-2 peer", batches, "")
        self.assertGreaterEqual(batches, 1, "the downloader never asked for files in a batch")
        self.assertLessEqual(batches, 4, "the downloader kept asking a peer that refused batches")
        self.assertGreaterEqual(singles, len(files))


if __name__ == "__main__":
    harness.main()
