#!/usr/bin/python3
"""Updates between real `lanspread serve` daemons on hosts in network namespaces: two seeders
and the updating peer on one bridge, and a third peer on a second bridge that sees only the
updating peer (mDNS stays on its link), so whatever it downloads comes from that peer. The
updating peer's link to the seeders is slowed with `tc tbf` while it updates, so the update
lasts long enough to be interrupted. Usage: test_update_netns.py --tool <lanspread binary>"""
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import CHUNK, sha256_bytes, sha256_file  # noqa: E402

BIG = 40 * CHUNK  # 80 MiB
GID = "openarena"
ENDS = ("operation_finished", "operation_failed", "operation_cancelled")
PAYLOAD = (".lanspread*", "local", ".local.*")  # compare the downloaded game, not the installed


def same_payload(a, b):
    harness.assert_same_tree(a, b, ignore=PAYLOAD)


def entry(body):
    """The game's entry, or an empty dict while the daemon has not loaded its library."""
    return next((g for g in body.get("games", []) if g["id"] == GID), {})


def publish(games_dir, version):
    """Version 1 and 2 share data/small.cfg; data/big.pak is new throughout in version 2."""
    return harness.make_game(games_dir, GID, version, {
        "data/big.pak": harness.deterministic_bytes(BIG, f"version {version}"),
        "data/small.cfg": "seta name player\n"})


def download_end(events, kind="download", timeout=90):
    return events.next(lambda e: e["type"] in ENDS and e["data"]["kind"] == kind, timeout)


class Updates(harness.TestCase):
    def setUp(self):
        lan = self.lan()
        self.ref = {v: publish(self.work.sub(f"ref{v}", "games"), v) for v in ("1", "2")}
        self.seeders = []
        for i in range(2):
            host = lan.host(f"seed{i}", [("br0", f"198.18.100.{i + 1}/24")])
            publish(self.work.sub(f"seed{i}", "games"), "1")
            self.seeders.append(self.serve(host))
        self.host = lan.host("updater", [("br0", "198.18.100.9/24"), ("br1", "198.18.101.9/24")],
                             rate="400mbit")
        self.third_host = lan.host("third", [("br1", "198.18.101.3/24")])
        self.dl = self.serve(self.host)
        self.events = self.dl.api.event_stream(since=1)
        self.root = os.path.join(self.dl.games, GID)

    def post(self, action, daemon=None):
        return (daemon or self.dl).api.post(f"/api/v1/games/{GID}/{action}").body

    def offered(self, version, peers=2, daemon=None):
        return (daemon or self.dl).api.wait_until(
            lambda b: entry(b).get("latest_version") == version
            and len(entry(b).get("latest_peers", [])) >= peers, 30, path="/api/v1/games")

    def finished(self, kind, events=None, timeout=90):
        kinds = ("install", "update") if kind == "install" else (kind,)
        end = (events or self.events).next(
            lambda e: e["type"] in ENDS and e["data"]["kind"] in kinds, timeout)
        self.assertIsNotNone(end, f"no end of the {kind}")
        return end

    def get_version_1(self):
        self.assertIsNotNone(self.offered("1"))
        self.post("download")
        self.assertEqual(self.finished("download")["type"], "operation_finished")
        self.assertEqual(self.finished("install")["type"], "operation_finished")

    def start_update_to_2(self):
        """Publishes version 2 on the seeders and lets the update run until 12 of its 40
        chunks are verified, then slows the link so that it is far from done."""
        for s in self.seeders:
            publish(s.games, "2")
        self.assertIsNotNone(self.offered("2"), "the updater never saw version 2")
        self.host.set_rate("40mbit", "eth0")
        self.assertEqual(self.post("update")["accepted"], True)
        progressed = self.events.next(lambda e: e["type"] == "operation_progress"
                                      and e["data"]["verified"] >= 12 * CHUNK, 60)
        self.assertIsNotNone(progressed, "the update made no progress")
        # Then slower still, so that on a busy machine too the update is far from its end
        # while the third peer downloads: 28 chunks at 4 Mbit/s take about two minutes.
        self.host.set_rate("4mbit", "eth0")

    def resume_update(self, events):
        self.host.set_rate("400mbit", "eth0")
        self.assertIsNotNone(self.offered("2"))
        self.assertEqual(self.post("update")["accepted"], True)
        end = self.finished("download", events)
        self.assertEqual(end["type"], "operation_finished", end)
        # What was staged before is not fetched again: well below the game's size crosses.
        self.assertGreaterEqual(end["data"]["bytes_reused"], 12 * CHUNK)
        self.assertLess(end["data"]["bytes_fetched"], BIG - 8 * CHUNK)
        same_payload(self.ref["2"], self.root)
        self.assertEqual(self.finished("install", events)["type"], "operation_finished")
        installed = os.path.join(self.root, "local", "data", "big.pak")
        self.assertEqual(sha256_file(installed), sha256_file(os.path.join(self.ref["2"], "data",
                                                                          "big.pak")))

    def third_downloads_version_1(self, third):
        """The third peer sees only the updater: it downloads version 1 from it, whole."""
        self.assertIsNotNone(self.offered("1", peers=1, daemon=third))
        events = third.api.event_stream(since=1)
        self.assertEqual(self.post("download", third)["accepted"], True)
        end = self.finished("download", events)
        self.assertEqual(end["type"], "operation_finished", end)
        same_payload(self.ref["1"], os.path.join(third.games, GID))
        self.assertEqual(self.finished("install", events)["type"], "operation_finished")

    def test_cancelled_update_keeps_the_old_version_seedable_installable_and_resumable(self):
        """Guards against an update that is cancelled deleting or mixing the previous version
        (it must stay byte-identical, be served to others and install), against the server
        handing out half-updated files while the update runs, and against a resumed update
        fetching again what it had already staged."""
        self.get_version_1()
        self.start_update_to_2()
        third = self.serve(self.third_host)
        self.third_downloads_version_1(third)  # served while the update is running
        self.assertIsNone(download_end(self.events, timeout=0.5),
                          "the update ended before the third peer's download")

        self.post("cancel")
        self.assertEqual(self.finished("download")["type"], "operation_cancelled")
        same_payload(self.ref["1"], self.root)
        self.assertTrue(self.dl.api.wait_until(
            lambda b: entry(b).get("downloaded") and entry(b).get("local_version") == "1", 10,
            path="/api/v1/games"))

        # Seedable afterwards: the third peer, its copy gone, gets version 1 again from it.
        third.stop()
        shutil.rmtree(os.path.join(third.games, GID))
        third.start()
        self.third_downloads_version_1(third)

        # Installable: uninstalled and installed again from the kept version.
        self.post("uninstall")
        self.assertEqual(self.finished("uninstall")["type"], "operation_finished")
        self.post("install")
        self.assertEqual(self.finished("install")["type"], "operation_finished")
        installed = os.path.join(self.root, "local", "data", "big.pak")
        self.assertEqual(sha256_file(installed),
                         sha256_bytes(harness.deterministic_bytes(BIG, "version 1")))

        third.stop()  # the resumed update gets version 2 from the seeders only
        self.resume_update(self.events)

    def test_update_cancelled_while_checking_keeps_the_old_version(self):
        """Guards against a cancel that arrives while an update is still checking the files
        on disk deleting the old version's payload (it was taken for a first download's)."""
        self.get_version_1()
        for s in self.seeders:
            publish(s.games, "2")
        self.assertIsNotNone(self.offered("2"), "the updater never saw version 2")
        self.assertEqual(self.post("update")["accepted"], True)
        checking = self.events.next(lambda e: e["type"] == "operation_progress"
                                    and e["data"].get("phase") in ("resolving", "checking"), 30)
        self.assertIsNotNone(checking, "the update never reported its check")
        self.post("cancel")
        end = self.finished("download")
        self.assertIn(end["type"], ("operation_cancelled", "operation_finished"), end)
        if end["type"] == "operation_cancelled":
            same_payload(self.ref["1"], self.root)
        else:  # the whole update won the race: then it is version 2, whole
            same_payload(self.ref["2"], self.root)
        self.assertTrue(self.dl.api.wait_until(
            lambda b: entry(b).get("downloaded"), 10, path="/api/v1/games"))

    def test_updater_killed_mid_update_recovers(self):
        """Guards against a crash during an update leaving a mix of two versions, a game that
        claims a version it does not hold, or staged work that is thrown away."""
        self.get_version_1()
        self.start_update_to_2()
        self.dl.kill()
        same_payload(self.ref["1"], self.root)
        self.dl.start()
        self.assertTrue(self.dl.api.wait_until(
            lambda b: entry(b).get("downloaded") and entry(b).get("local_version") == "1", 20,
            path="/api/v1/games"))
        self.resume_update(self.dl.api.event_stream(since=1))


if __name__ == "__main__":
    harness.main()
