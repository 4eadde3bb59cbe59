#!/usr/bin/python3
"""Downloads under load and against silent seeders, between real `lanspread serve` daemons on
hosts in network namespaces: one seeder on a 100 Mbit/s link and eight downloaders at once; a
seeder frozen (SIGSTOP) mid-download, cancelled or replaced by another seeder; a game of
10,000 files served and downloaded with an open-file limit of 1,024 on both sides. Driven and observed through each
daemon's HTTP API. Usage: test_download_load_netns.py --tool <lanspread binary>"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import CHUNK  # noqa: E402

ENDS = ("operation_finished", "operation_failed", "operation_cancelled")
IGNORE = (".lanspread*", "local", ".local.*")  # the downloaders install what they fetched


def game(body, gid="openarena"):
    return next((g for g in body.get("games", []) if g["id"] == gid), {})


def offered(daemon, peers=1, version="1"):
    """Waits until `daemon` sees the game at `version` from at least `peers` peers."""
    return daemon.api.wait_until(
        lambda b: game(b).get("latest_version") == version
        and len(game(b).get("latest_peers", [])) >= peers, 30, path="/api/v1/games")


def download_end(events, timeout):
    return events.next(lambda e: e["type"] in ENDS and e["data"]["kind"] == "download", timeout)


class LimitedDaemon(harness.Daemon):
    """`lanspread serve` started under `prlimit --nofile=N:N` (as `ulimit -n N` would)."""

    def __init__(self, host, workdir, nofile, **kwargs):
        self.nofile = nofile
        super().__init__(host, workdir, **kwargs)

    def argv(self):
        return ["prlimit", f"--nofile={self.nofile}:{self.nofile}", "--", *super().argv()]


class OneSeederManyDownloaders(harness.TestCase):
    def test_eight_downloaders_share_one_100mbit_seeder(self):
        """Guards against downloads that share a slow uplink being failed as stalled while
        bytes still arrive ("no peer offers this game" for most of them): eight downloaders
        at once on one 100 Mbit/s seeder all finish with the seeder's exact bytes."""
        lan = self.lan()
        seed_host = lan.host("seed", rate="100mbit")
        harness.make_game(self.work.sub("seed", "games"), "openarena", "1",
                          {"data/big.pak": 16 * CHUNK, "data/small.cfg": "seta name player\n"})
        seeder = self.serve(seed_host)
        source = os.path.join(seeder.games, "openarena")

        # The same link with one downloader alone: the baseline of the figures below.
        solo = self.serve(lan.host("solo"))
        self.assertIsNotNone(offered(solo), "the downloader never saw the game")
        events = solo.api.event_stream()
        start = time.monotonic()
        self.assertEqual(solo.api.post("/api/v1/games/openarena/download").status, 202)
        end = download_end(events, 60)
        alone = time.monotonic() - start
        self.assertEqual(end and end["type"], "operation_finished", end)
        solo.stop()  # it would be a second source for the others

        downloaders = [self.serve(lan.host(f"dl{i}")) for i in range(8)]
        for d in downloaders:
            self.assertIsNotNone(offered(d), f"{d.name} never saw the game")
        sent_before = seed_host.tx_bytes()
        ends, took, streams = harness.download_all(downloaders, "openarena", 240)
        uploaded = seed_host.tx_bytes() - sent_before
        for d, e in zip(downloaders, ends):
            self.assertEqual(e and e["type"], "operation_finished", f"{d.name}: {e}")
            harness.assert_same_tree(source, os.path.join(d.games, "openarena"), IGNORE)
        for d, s in zip(downloaders, streams):
            failed = [e for e in s.seen if e["type"] == "operation_failed"]
            self.assertEqual(failed, [], f"{d.name} reported a failure")
        size = 16 * CHUNK + len("seta name player\n")
        harness.measured("one downloader alone", alone)
        harness.measured("eight downloaders at once, the last to finish", max(took))
        harness.measured("copies the seeder uploaded", f"{uploaded / size:.2f}", "copies")


class StalledSeeder(harness.TestCase):
    def setUp(self):
        self.lan_ = self.lan()
        self.size = 40 * CHUNK

    def seeder(self, name, rate="100mbit"):
        harness.make_game(self.work.sub(name, "games"), "openarena", "1",
                          {"data/big.pak": self.size})
        d = self.serve(self.lan_.host(name, rate=rate))
        self.addCleanup(d.resume)  # never leave a frozen process behind
        return d

    def progressed(self, events, at_least):
        return events.next(lambda e: e["type"] == "operation_progress"
                           and e["data"]["phase"] == "downloading"
                           and e["data"]["done"] >= at_least, 30)

    def cancel_within_a_second(self, dl, events, what):
        """Cancels and checks that `operation_cancelled` comes within a second of the
        request (the one user-visible time bound of downloads)."""
        start = time.monotonic()
        self.assertEqual(dl.api.post("/api/v1/games/openarena/cancel").status, 202)
        end = download_end(events, 10)
        took = time.monotonic() - start
        self.assertEqual(end and end["type"], "operation_cancelled", end)
        harness.measured(what, took)
        self.assertLess(took, 1.0)

    def test_cancel_with_a_frozen_seeder_takes_under_a_second(self):
        """Guards against a cancel that waits for a seeder that stopped sending (it used to
        be ignored for minutes): with the only seeder frozen mid-download, the cancel ends
        the download within a second and deletes what was fetched; so does a cancel while
        the download waits for the frozen seeder's manifest."""
        seeder = self.seeder("seed")
        dl = self.serve(self.lan_.host("dl"))
        self.assertIsNotNone(offered(dl))
        events = dl.api.event_stream()
        dl.api.post("/api/v1/games/openarena/download")
        self.assertIsNotNone(self.progressed(events, CHUNK // 2))
        seeder.pause()
        # The download is now waiting on four silent requests.
        stalled = events.next(lambda e: e["type"] == "operation_progress"
                              and e["data"]["stalled_seconds"] >= 2, 10)
        self.assertIsNotNone(stalled, "the progress never said the download stalled")
        self.cancel_within_a_second(dl, events, "cancel with a frozen seeder")
        root = os.path.join(dl.games, "openarena")
        self.assertFalse(os.path.exists(os.path.join(root, "data", "big.pak")))
        self.assertFalse(os.path.exists(os.path.join(root, "version.ini")))
        # Again while the download still asks the frozen seeder for the manifest.
        dl.api.post("/api/v1/games/openarena/download")
        self.assertIsNotNone(events.of_type("operation_begin", timeout=10, kind="download"))
        self.cancel_within_a_second(dl, events,
                                    "cancel while asking a frozen seeder for the manifest")

    def test_another_seeder_finishes_when_one_freezes(self):
        """Guards against one frozen seeder wedging the download: its requests fail after
        the silence deadline (or are copied by the other seeder first), and the other seeder
        delivers the whole game."""
        frozen = self.seeder("seed0")
        other = self.seeder("seed1")
        dl = self.serve(self.lan_.host("dl"))
        self.assertIsNotNone(offered(dl, peers=2))
        events = dl.api.event_stream()
        dl.api.post("/api/v1/games/openarena/download")
        self.assertIsNotNone(self.progressed(events, CHUNK))
        frozen.pause()
        end = download_end(events, 90)
        self.assertEqual(end and end["type"], "operation_finished", end)
        harness.assert_same_tree(os.path.join(other.games, "openarena"),
                                 os.path.join(dl.games, "openarena"), IGNORE)


class ManyFiles(harness.TestCase):
    def test_10000_files_with_1024_descriptors_on_both_sides(self):
        """Guards against a download opening every file of the game at once (it used to
        fail, reported as "disk full"), and against a seeder keeping a descriptor per
        requested file: a game of 10,000 files is served and arrives whole with both seeder
        and downloader limited to 1,024 open files."""
        lan = self.lan()
        files = {f"data/{i // 100:03d}/f{i:05d}.dat": 1000 + i for i in range(10000)}
        harness.make_game(self.work.sub("seed", "games"), "openarena", "1", files)
        seeder = LimitedDaemon(lan.host("seed"), self.work, 1024)
        self.addCleanup(seeder.close)
        dl = LimitedDaemon(lan.host("dl"), self.work, 1024)
        self.addCleanup(dl.close)
        for d in (seeder, dl):
            with open(f"/proc/{d.pid}/limits") as f:
                limit = next(line for line in f if line.startswith("Max open files"))
            self.assertEqual(limit.split()[3:5], ["1024", "1024"], limit)
        self.assertIsNotNone(offered(dl))
        events = dl.api.event_stream()
        dl.api.post("/api/v1/games/openarena/download")
        most = most_seeder = 0
        end = None
        deadline = time.monotonic() + 400
        while end is None and time.monotonic() < deadline:
            end = events.next(lambda e: e["type"] in ENDS and e["data"]["kind"] == "download",
                              0.2)
            most = max(most, len(os.listdir(f"/proc/{dl.pid}/fd")))
            most_seeder = max(most_seeder, len(os.listdir(f"/proc/{seeder.pid}/fd")))
        self.assertEqual(end and end["type"], "operation_finished", end)
        harness.assert_same_tree(os.path.join(seeder.games, "openarena"),
                                 os.path.join(dl.games, "openarena"), IGNORE)
        harness.measured("most descriptors open on the downloader", most, "fds")
        harness.measured("most descriptors open on the seeder", most_seeder, "fds")
        self.assertLess(most, 200)
        self.assertLess(most_seeder, 512)


if __name__ == "__main__":
    harness.main()
