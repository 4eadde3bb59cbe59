#!/usr/bin/python3
"""Downloads between real `lanspread serve` daemons on hosts in network namespaces: three
seeders and a downloader on one bridge, the downloader's link limited with `tc tbf` so that
a download lasts long enough to be interrupted. Driven and observed through each daemon's
HTTP API. Usage: test_download_netns.py --tool <lanspread binary>"""
import argparse
import hashlib
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
from test_serve_netns import Host, write  # noqa: E402
import test_serve_netns  # noqa: E402

CHUNK = 8 << 20
BIG = 10 * CHUNK  # ten chunks: one changed chunk is a 10 % update


def game(body, gid):
    """The game's entry, or an empty dict while the daemon has not loaded its library."""
    return next((g for g in body.get("games", []) if g["id"] == gid), {})


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Downloads(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="lanspread-dl-")
        self.lan = Lan()
        self.mounts = []
        self.big = os.urandom(BIG)
        self.seeders = [Host(self.lan, f"seed{i}", f"198.18.100.{i + 1}", self.tmp) for i in range(3)]
        self.dl = Host(self.lan, "downloader", "198.18.100.9", self.tmp)
        # Traffic towards the downloader crosses its bridge port: 400 Mbit/s.
        subprocess.run(["ip", "netns", "exec", self.lan.switch, "tc", "qdisc", "add", "dev",
                        "br0p4", "root", "tbf", "rate", "400mbit", "burst", "256kb", "latency",
                        "50ms"], check=True, capture_output=True)
        for s in self.seeders:
            self.seed(s, "1", self.big)
            s.start()
        self.since = 1

    def tearDown(self):
        self.lan.close()
        for m in self.mounts:
            subprocess.run(["umount", "-l", m], capture_output=True)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def seed(self, host, version, big):
        with open(os.path.join(host.games, "openarena", "data", "big.pak") if os.path.isdir(
                os.path.join(host.games, "openarena", "data")) else self._mk(host), "wb") as f:
            f.write(big)
        write(os.path.join(host.games, "openarena", "data", "small.cfg"), "seta name player\n")
        write(os.path.join(host.games, "openarena", "version.ini"), version + "\n")

    def _mk(self, host):
        os.makedirs(os.path.join(host.games, "openarena", "data"), exist_ok=True)
        return os.path.join(host.games, "openarena", "data", "big.pak")

    def post(self, host, action):
        r = subprocess.run(["ip", "netns", "exec", host.ns, "curl", "-s", "-X", "POST",
                            f"http://127.0.0.1:7878/api/v1/games/openarena/{action}"],
                           capture_output=True, text=True, timeout=10)
        return json.loads(r.stdout) if r.stdout else None

    def event(self, host, predicate, timeout):
        """The first event (after those already seen) matching predicate, or None."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            body = host.api(f"/api/v1/events?since={self.since}&timeout_ms=1000")
            if body is None:
                time.sleep(0.2)
                continue
            for e in body["events"]:
                self.since = e["seq"] + 1
                if predicate(e):
                    return e
        return None

    def available(self, version):
        return self.dl.wait_api("/api/v1/games", lambda b: game(b, "openarena").get("latest_version") == version
                                and len(game(b, "openarena").get("latest_peers", [])) >= 2, 30)

    def finished(self, kind, timeout=60):
        kinds = ("install", "update") if kind == "install" else (kind,)
        ends = ("operation_finished", "operation_failed", "operation_cancelled")
        return self.event(self.dl, lambda e: e["type"] in ends and e["data"]["kind"] in kinds, timeout)

    def local_big(self):
        return os.path.join(self.dl.games, "openarena", "data", "big.pak")

    def test_from_three_seeders_one_of_them_corrupt(self):
        # Guards against corrupt bytes from one seeder reaching the game: they are caught by
        # the chunk hashes and fetched again from the others.
        bad = os.path.join(self.seeders[2].games, "openarena", "data", "big.pak")
        self.assertIsNotNone(self.seeders[2].wait_api(
            "/api/v1/games", lambda b: game(b, "openarena").get("downloaded"), 20))
        time.sleep(1)  # its manifest is built; now corrupt the file behind its back
        st = os.stat(bad)
        with open(bad, "r+b") as f:
            f.seek(3 * CHUNK + 5)
            f.write(bytes([self.big[3 * CHUNK + 5] ^ 0xFF]))
        os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns))
        self.dl.start()
        self.assertIsNotNone(self.available("1"), "the downloader never saw the game")
        self.assertEqual(self.post(self.dl, "download")["accepted"], True)
        end = self.finished("download")
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertEqual(sha(self.local_big()), hashlib.sha256(self.big).hexdigest())
        self.assertTrue(os.path.isfile(os.path.join(self.dl.games, "openarena", "version.ini")))

    def test_seeder_killed_mid_download(self):
        # Guards against a download failing when one source dies: the rest complete it.
        self.dl.start()
        self.assertIsNotNone(self.available("1"))
        self.post(self.dl, "download")
        self.assertIsNotNone(self.event(self.dl, lambda e: e["type"] == "operation_progress"
                                        and e["data"]["done"] > 0, 20))
        self.seeders[0].proc.kill()
        end = self.finished("download", 90)
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertEqual(sha(self.local_big()), hashlib.sha256(self.big).hexdigest())

    def test_killed_downloader_resumes(self):
        # Guards against a crash throwing away what was already downloaded: after a restart
        # only the missing chunks cross the network.
        self.dl.start()
        self.assertIsNotNone(self.available("1"))
        self.post(self.dl, "download")
        self.assertIsNotNone(self.event(self.dl, lambda e: e["type"] == "operation_progress"
                                        and e["data"]["done"] >= 3 * CHUNK, 30))
        self.dl.proc.kill()
        self.assertFalse(os.path.exists(os.path.join(self.dl.games, "openarena", "version.ini")))
        self.dl.start()
        self.since = 1
        self.assertIsNotNone(self.available("1"))
        self.post(self.dl, "download")
        end = self.finished("download", 60)
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertGreaterEqual(end["data"]["bytes_reused"], 3 * CHUNK)
        self.assertLess(end["data"]["bytes_fetched"], BIG)
        self.assertEqual(sha(self.local_big()), hashlib.sha256(self.big).hexdigest())

    def test_update_moves_only_changed_chunks_and_cancel_keeps_local(self):
        # Guards against an update re-downloading the whole game, and against a cancelled
        # update touching the installed tree.
        self.dl.start()
        self.assertIsNotNone(self.available("1"))
        self.post(self.dl, "download")
        self.assertEqual(self.finished("download")["type"], "operation_finished")
        self.assertIsNotNone(self.finished("install"))
        installed = os.path.join(self.dl.games, "openarena", "local", "data", "big.pak")
        self.assertTrue(os.path.isfile(installed))
        v2 = bytearray(self.big)
        v2[5 * CHUNK:5 * CHUNK + 100] = os.urandom(100)  # one chunk of ten changes
        for s in self.seeders:
            self.seed(s, "2", bytes(v2))
        self.assertIsNotNone(self.available("2"), "the downloader never saw version 2")
        self.post(self.dl, "update")
        end = self.finished("download")
        self.assertEqual(end and end["type"], "operation_finished", end)
        self.assertLessEqual(end["data"]["bytes_fetched"], 2 * CHUNK)  # about 10 %, not 100 %
        self.assertEqual(sha(self.local_big()), hashlib.sha256(bytes(v2)).hexdigest())
        self.assertIsNotNone(self.finished("install"))
        # Version 3 is cancelled half-way: the installed version 2 stays whole.
        v3 = os.urandom(BIG)
        for s in self.seeders:
            self.seed(s, "3", v3)
        self.assertIsNotNone(self.available("3"))
        self.post(self.dl, "update")
        self.assertIsNotNone(self.event(self.dl, lambda e: e["type"] == "operation_progress"
                                        and e["data"]["done"] > 0, 20))
        self.post(self.dl, "cancel")
        end = self.finished("download")
        self.assertEqual(end["type"], "operation_cancelled")
        self.assertEqual(sha(installed), hashlib.sha256(bytes(v2)).hexdigest())
        self.assertFalse(os.path.exists(self.local_big()))
        self.assertFalse(os.path.exists(os.path.join(self.dl.games, "openarena", "version.ini")))

    def test_disk_full(self):
        # Guards against a full disk leaving a game that looks complete, or writing outside
        # the game folder.
        small = os.path.join(self.tmp, "smalldisk")
        os.makedirs(small)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=40m", "tmpfs", small], check=True)
        self.mounts.append(small)
        shutil.rmtree(self.dl.games)
        os.symlink(small, self.dl.games)
        self.dl.start()
        self.assertIsNotNone(self.available("1"))
        self.post(self.dl, "download")
        end = self.finished("download", 60)
        self.assertEqual(end and end["type"], "operation_failed", end)
        self.assertIn("disk", end["data"]["reason"])
        self.assertFalse(os.path.exists(os.path.join(small, "openarena", "version.ini")))
        self.assertEqual(sorted(os.listdir(small)), ["openarena"])


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--tool", required=True)
    args, rest = ap.parse_known_args()
    test_serve_netns.TOOL = os.path.abspath(args.tool)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
