#!/usr/bin/python3
"""Downloads between real `lanspread serve` daemons on hosts in network namespaces: three
seeders and a downloader on one bridge, the downloader's link limited with `tc tbf` so that
a download lasts long enough to be interrupted. Driven and observed through each daemon's
HTTP API. Usage: test_download_netns.py --tool <lanspread binary>"""
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import CHUNK, sha256_bytes, sha256_file  # noqa: E402

BIG = 40 * CHUNK  # 80 MiB in forty chunks
ENDS = ("operation_finished", "operation_failed", "operation_cancelled")


def game(body, gid):
    """The game's entry, or an empty dict while the daemon has not loaded its library."""
    return next((g for g in body.get("games", []) if g["id"] == gid), {})


def seed(games_dir, version, big):
    harness.make_game(games_dir, "openarena", version,
                      {"data/big.pak": big, "data/small.cfg": "seta name player\n"})


class Downloads(harness.TestCase):
    def setUp(self):
        lan = self.lan()
        self.big = harness.deterministic_bytes(BIG, "version 1")
        self.seeders = []
        for i in range(3):
            host = lan.host(f"seed{i}", [("br0", f"198.18.100.{i + 1}/24")])
            seed(self.work.sub(f"seed{i}", "games"), "1", self.big)
            self.seeders.append(self.serve(host))
        # The downloader's link: 400 Mbit/s.
        host = lan.host("downloader", [("br0", "198.18.100.9/24")], rate="400mbit")
        self.dl = self.serve(host, start=False)
        self.events = None

    def start_downloader(self):
        self.dl.start()
        self.events = self.dl.api.event_stream(since=1)

    def post(self, action):
        return self.dl.api.post(f"/api/v1/games/openarena/{action}").body

    def available(self, version):
        return self.dl.api.wait_until(
            lambda b: game(b, "openarena").get("latest_version") == version
            and len(game(b, "openarena").get("latest_peers", [])) >= 2, 30, path="/api/v1/games")

    def finished(self, kind, timeout=60):
        kinds = ("install", "update") if kind == "install" else (kind,)
        return self.events.next(lambda e: e["type"] in ENDS and e["data"]["kind"] in kinds,
                                timeout)

    def progressed(self, at_least, timeout, field="done"):
        return self.events.next(lambda e: e["type"] == "operation_progress"
                                and e["data"][field] >= at_least, timeout)

    def local_big(self):
        return os.path.join(self.dl.games, "openarena", "data", "big.pak")

    def test_from_three_seeders_one_of_them_corrupt(self):
        """Guards against corrupt bytes from one seeder reaching the game: they are caught
        by the chunk hashes and fetched again from the others."""
        bad = os.path.join(self.seeders[2].games, "openarena", "data", "big.pak")
        self.assertIsNotNone(self.seeders[2].api.wait_until(
            lambda b: game(b, "openarena").get("downloaded"), 20, path="/api/v1/games"))
        time.sleep(1)  # its manifest is built; now corrupt the file behind its back
        st = os.stat(bad)
        with open(bad, "r+b") as f:
            f.seek(3 * CHUNK + 5)
            f.write(bytes([self.big[3 * CHUNK + 5] ^ 0xFF]))
        os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.start_downloader()
        self.assertIsNotNone(self.available("1"), "the downloader never saw the game")
        self.assertEqual(self.post("download")["accepted"], True)
        end = self.finished("download")
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertEqual(sha256_file(self.local_big()), sha256_bytes(self.big))
        self.assertTrue(os.path.isfile(os.path.join(self.dl.games, "openarena", "version.ini")))

    def test_finished_download_fills_the_hash_cache(self):
        """Guards against a finished download leaving a wrong hash cache (the download fills
        it from the manifest so the game is not hashed again before the end is reported):
        when the end is reported, the library's cache holds every payload file at its current
        size and mtime with the hashes of its bytes on disk."""
        self.start_downloader()
        self.assertIsNotNone(self.available("1"))
        self.post("download")
        end = self.finished("download")
        self.assertEqual(end and end["type"], "operation_finished", end)
        root = os.path.join(self.dl.games, "openarena")
        with open(os.path.join(root, ".lanspread.index")) as f:
            files = {e["path"]: e for e in json.load(f)["files"]}
        for rel, content in (("data/big.pak", self.big), ("data/small.cfg", None)):
            st = os.stat(os.path.join(root, rel))
            self.assertEqual((files[rel]["size"], files[rel]["mtime_ns"]),
                             (st.st_size, st.st_mtime_ns), rel)
            if content is not None:
                self.assertEqual(files[rel]["hashes"],
                                 [sha256_bytes(content[i:i + CHUNK])
                                  for i in range(0, len(content), CHUNK)])

    def test_peers_show_transfer_rates_both_ways(self):
        """Guards against the Peers view showing no, or dishonest, transfer rates: during a
        download over a 100 Mbit/s link the downloader sees its seeders sending at a rate
        the link can carry, and afterwards both sides count the game's bytes."""
        self.dl.host.set_rate("100mbit")
        self.start_downloader()
        self.assertIsNotNone(self.available("1"))
        self.post("download")
        self.assertIsNotNone(self.progressed(2 * CHUNK, 30))
        time.sleep(1.5)  # a whole second of the transfer is in the window
        peers = self.dl.api.json("/api/v1/peers")["peers"]
        rate_in = sum(p["bytes_per_second_in"] for p in peers)
        line = 100e6 / 8
        self.assertGreater(rate_in, 0.3 * line, peers)
        self.assertLess(rate_in, 1.2 * line, peers)
        end = self.finished("download", 90)
        self.assertEqual(end and end["type"], "operation_finished", end)
        peers = self.dl.api.json("/api/v1/peers")["peers"]
        self.assertGreaterEqual(sum(p["bytes_in"] for p in peers), end["data"]["bytes_fetched"])
        sent = 0
        for s in self.seeders:
            mine = [p for p in s.api.json("/api/v1/peers")["peers"] if p["id"] == self.dl.peer_id]
            sent += sum(p["bytes_out"] for p in mine)
        self.assertGreaterEqual(sent, end["data"]["bytes_fetched"])
        self.assertLess(sent, 2 * BIG)

    def test_seeder_killed_mid_download(self):
        """Guards against a download failing when one source dies: the rest complete it."""
        self.start_downloader()
        self.assertIsNotNone(self.available("1"))
        self.post("download")
        self.assertIsNotNone(self.progressed(1, 20))
        self.seeders[0].kill()
        end = self.finished("download", 90)
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertEqual(sha256_file(self.local_big()), sha256_bytes(self.big))

    def test_killed_downloader_resumes(self):
        """Guards against a crash throwing away what was already downloaded: after a restart
        only the missing chunks cross the network."""
        self.start_downloader()
        self.assertIsNotNone(self.available("1"))
        self.post("download")
        self.assertIsNotNone(self.progressed(3 * CHUNK, 30, field="verified"))
        self.dl.kill()
        self.assertFalse(os.path.exists(os.path.join(self.dl.games, "openarena", "version.ini")))
        self.start_downloader()
        self.assertIsNotNone(self.available("1"))
        self.post("download")
        end = self.finished("download", 60)
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertGreaterEqual(end["data"]["bytes_reused"], 3 * CHUNK)
        self.assertLess(end["data"]["bytes_fetched"], BIG)
        self.assertEqual(sha256_file(self.local_big()), sha256_bytes(self.big))

    def test_update_moves_only_changed_chunks_and_cancel_keeps_local(self):
        """Guards against an update re-downloading the whole game, and against a cancelled
        update touching the installed tree or the version it was replacing."""
        self.start_downloader()
        self.assertIsNotNone(self.available("1"))
        self.post("download")
        self.assertEqual(self.finished("download")["type"], "operation_finished")
        self.assertIsNotNone(self.finished("install"))
        installed = os.path.join(self.dl.games, "openarena", "local", "data", "big.pak")
        self.assertTrue(os.path.isfile(installed))
        v2 = bytearray(self.big)
        v2[5 * CHUNK:5 * CHUNK + 100] = harness.deterministic_bytes(100, "version 2")
        for s in self.seeders:  # one chunk of forty changes
            seed(s.games, "2", bytes(v2))
        self.assertIsNotNone(self.available("2"), "the downloader never saw version 2")
        self.post("update")
        end = self.finished("download")
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertLessEqual(end["data"]["bytes_fetched"], 2 * CHUNK)  # 1 chunk of 40, not all
        self.assertEqual(sha256_file(self.local_big()), sha256_bytes(bytes(v2)))
        self.assertIsNotNone(self.finished("install"))
        # Version 3 is cancelled half-way: the installed and the downloaded version 2 stay whole.
        v3 = harness.deterministic_bytes(BIG, "version 3")
        for s in self.seeders:
            seed(s.games, "3", v3)
        self.assertIsNotNone(self.available("3"))
        self.post("update")
        self.assertIsNotNone(self.progressed(1, 20))
        self.post("cancel")
        end = self.finished("download")
        self.assertEqual(end["type"], "operation_cancelled")
        self.assertEqual(sha256_file(installed), sha256_bytes(bytes(v2)))
        self.assertEqual(sha256_file(self.local_big()), sha256_bytes(bytes(v2)))
        with open(os.path.join(self.dl.games, "openarena", "version.ini")) as f:
            self.assertEqual(f.read(), "2\n")

    def download_to_a_small_disk(self, size):
        """Starts the downloader with its games dir on a tmpfs of `size` and asks for the
        game; returns the tmpfs's path."""
        small = self.work.mount_tmpfs(size, "smalldisk")
        shutil.rmtree(self.dl.games)
        os.symlink(small, self.dl.games)
        self.start_downloader()
        self.assertIsNotNone(self.available("1"))
        self.post("download")
        return small

    def test_disk_full(self):
        """Guards against a full disk leaving a game that looks complete, or writing outside
        the game folder: the disk fills up while the download runs."""
        small = self.download_to_a_small_disk("120m")
        self.assertIsNotNone(self.progressed(1, 20))
        filler = os.path.join(small, "filler")
        try:
            with open(filler, "wb") as f:
                while True:
                    f.write(b"\0" * (1 << 20))
                    f.flush()
        except OSError:
            pass  # the disk is full now
        end = self.finished("download", 60)
        self.assertEqual(end and end["type"], "operation_failed", end)
        self.assertIn("disk", end["data"]["reason"])
        self.assertFalse(os.path.exists(os.path.join(small, "openarena", "version.ini")))
        self.assertEqual(sorted(os.listdir(small)), ["filler", "openarena"])

    def test_a_game_larger_than_the_disk_is_refused_up_front(self):
        """Guards against starting a download that cannot fit (a valid manifest may list a
        million chunks, each with its download state): it is refused before a byte is
        fetched or a file created, with what it needs and what is free."""
        small = self.download_to_a_small_disk("40m")
        end = self.finished("download", 60)
        self.assertEqual(end and end["type"], "operation_failed", end)
        self.assertRegex(end["data"]["reason"],
                         r"not enough space: needs 80\.0 MiB, 40\.0 MiB free")
        self.assertEqual(os.listdir(small), [])


if __name__ == "__main__":
    harness.main()
