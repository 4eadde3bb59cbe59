#!/usr/bin/python3
"""A running game and the operations that would pull its files from under it, between real
`lanspread serve` daemons in network namespaces. The "game" is a process started from the
game's local/: a copy of /bin/sleep placed there (its executable is inside local/), or
/bin/sleep run with its working directory inside local/.
Usage: test_game_guard_netns.py --tool <lanspread binary>"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import CHUNK  # noqa: E402

GID = "openarena"
ENDS = ("operation_finished", "operation_failed", "operation_cancelled")


def entry(body):
    return next((g for g in body.get("games", []) if g["id"] == GID), {})


def install_by_hand(games_dir, version, files=None):
    """A downloaded game with a local/ directory: installed, as the library sees it."""
    root = harness.make_game(games_dir, GID, version, files or {"data/pak0.pk3": 4096})
    harness.write_file(os.path.join(root, "local", "bin", "readme.txt"), f"version {version}\n")
    return root


class GameGuard(harness.TestCase):
    def start_game(self, local, how):
        """A process running from `local`: 'exe' runs a copy of sleep placed in local/bin
        (named lsgame), 'cwd' runs /bin/sleep with local/ as its working directory."""
        if how == "exe":
            exe = os.path.join(local, "bin", "lsgame")
            shutil.copy("/bin/sleep", exe)
            proc = subprocess.Popen([exe, "600"], cwd="/")
        else:
            proc = subprocess.Popen(["/bin/sleep", "600"], cwd=local)
        self.addCleanup(lambda: (proc.kill(), proc.wait()))
        return proc

    def updating(self, size):
        """A seeder with version 2 (`size` bytes) and, on a 100 Mbit/s link, a peer with
        version 1 installed that has begun the update; returns (that daemon, its events)."""
        lan = self.lan()
        seed_host = lan.host("seed", [("br0", "198.18.100.1/24")])
        leech_host = lan.host("leech", [("br0", "198.18.100.2/24")], rate="100mbit")
        harness.make_game(self.work.sub("seed", "games"), GID, "2", {"data/pak0.pk3": size})
        install_by_hand(self.work.sub("leech", "games"), "1", {"data/pak0.pk3": 4096})
        self.serve(seed_host)
        d = self.serve(leech_host)
        d.api.wait_until(lambda b: entry(b).get("update_available"), 30, path="/api/v1/games")
        events = d.api.event_stream()
        self.assertEqual(d.api.post(f"/api/v1/games/{GID}/update").status, 202)
        events.of_type("operation_progress", timeout=30, id=GID, phase="downloading")
        return d, events

    def stop_game(self, proc):
        proc.kill()
        proc.wait()

    def assert_refused_naming(self, response, proc, name):
        self.assertEqual(response.status, 409, response.body)
        self.assertEqual(response.error_code(), "game_running", response.body)
        message = response.body["error"]["message"]
        self.assertIn(f"pid {proc.pid}", message)
        self.assertIn(name, message)

    def test_running_game_blocks_update_uninstall_and_remove(self):
        # Guards against deleting or replacing the files of a game that is running: uninstall,
        # update (an install over local/) and remove must refuse and say which process it is,
        # whether the process runs an executable from local/ or only works in it.
        host = self.lan().host("solo")
        d = self.serve(host)
        root = install_by_hand(d.games, "1")
        local = os.path.join(root, "local")
        d.api.wait_until(lambda b: entry(b).get("installed"), 20, path="/api/v1/games")
        game = self.start_game(local, "exe")
        self.assert_refused_naming(d.api.post(f"/api/v1/games/{GID}/uninstall"), game, "lsgame")
        self.assert_refused_naming(d.api.post(f"/api/v1/games/{GID}/install"), game, "lsgame")
        self.stop_game(game)
        os.unlink(os.path.join(local, "bin", "lsgame"))
        game = self.start_game(local, "cwd")
        self.assert_refused_naming(d.api.post(f"/api/v1/games/{GID}/uninstall"), game, "sleep")
        # Deleted by hand while it runs: the game is no longer installed, and remove still
        # sees the process working in the deleted local/.
        shutil.rmtree(local)
        d.api.wait_until(lambda b: entry(b).get("downloaded") and not entry(b).get("installed"),
                         20, path="/api/v1/games")
        self.assert_refused_naming(d.api.post(f"/api/v1/games/{GID}/remove"), game, "sleep")
        self.assertTrue(os.path.exists(os.path.join(root, "version.ini")))
        self.stop_game(game)
        events = d.api.event_stream()
        self.assertEqual(d.api.post(f"/api/v1/games/{GID}/remove").status, 202)
        end = events.next(lambda e: e["type"] in ENDS, 30)
        self.assertEqual(end["type"], "operation_finished", end)
        self.assertFalse(os.path.exists(root))

    def test_install_after_download_waits_for_the_game_to_close(self):
        # Guards against an update that replaces local/ under a game started while the update
        # downloaded, and against a games dir switch in the middle of a download: the install
        # must wait (phase waiting_for_game, naming the process), be cancellable while it
        # waits, and go on once the game has closed.
        d, events = self.updating(48 * CHUNK)
        local = os.path.join(d.games, GID, "local")
        # The runtime refuses a switch while the download runs, and says so.
        other = self.work.sub("other-games")
        r = d.api.put("/api/v1/settings/games-dir", body={"path": other})
        self.assertEqual(r.status, 409, r.body)
        self.assertIn(f"download of '{GID}'", r.body["error"]["message"])
        self.assertEqual(d.api.json("/api/v1/status")["games_dir"], d.games)
        game = self.start_game(local, "cwd")
        waiting = events.of_type("operation_progress", timeout=90, id=GID,
                                 phase="waiting_for_game")
        self.assertIsNotNone(waiting, "the install did not wait for the running game")
        self.assertEqual(waiting["data"]["kind"], "update")
        self.assertIn(f"pid {game.pid}", waiting["data"]["waiting_for"])
        # Cancelled while it waits: the old installed files stay as they were.
        self.assertEqual(d.api.post(f"/api/v1/games/{GID}/cancel").status, 202)
        end = events.next(lambda e: e["type"] in ENDS, 10)
        self.assertEqual((end["type"], end["data"]["kind"]), ("operation_cancelled", "update"))
        with open(os.path.join(local, "bin", "readme.txt")) as f:
            self.assertEqual(f.read(), "version 1\n")
        # Installing again while it runs is refused, naming it.
        self.assert_refused_naming(d.api.post(f"/api/v1/games/{GID}/install"), game, "sleep")
        # Once the game has closed, an install goes through.
        self.stop_game(game)
        self.assertEqual(d.api.post(f"/api/v1/games/{GID}/install").status, 202)
        end = events.next(lambda e: e["type"] in ENDS, 60)
        self.assertEqual((end["type"], end["data"]["kind"]), ("operation_finished", "update"), end)
        body = d.api.json("/api/v1/games")
        self.assertEqual((entry(body)["local_version"], entry(body)["installed"]), ("2", True))

    def test_waiting_install_goes_on_when_the_game_closes(self):
        # Guards against an install that waits for a game for ever: once the process that ran
        # from local/ exits, the install after the download finishes without being asked again.
        d, events = self.updating(32 * CHUNK)
        local = os.path.join(d.games, GID, "local")
        game = self.start_game(local, "exe")
        waiting = events.of_type("operation_progress", timeout=90, id=GID,
                                 phase="waiting_for_game")
        self.assertIsNotNone(waiting, "the install did not wait for the running game")
        self.assertIn("lsgame", waiting["data"]["waiting_for"])
        self.stop_game(game)
        end = events.next(lambda e: e["type"] in ENDS, 60)
        self.assertEqual((end["type"], end["data"]["kind"]), ("operation_finished", "update"), end)
        self.assertEqual(entry(d.api.json("/api/v1/games"))["local_version"], "2")

    def test_cancel_stops_a_large_uninstall(self):
        # Guards against an uninstall that cannot be stopped: cancel ends it between files,
        # what was deleted stays deleted, the rest stays in local/ and the game stays usable
        # (installed, no leftover journal), and uninstalling again finishes the job.
        host = self.lan().host("solo")
        d = self.serve(host)
        root = install_by_hand(d.games, "1")
        local = os.path.join(root, "local")
        files = 60000
        for i in range(files // 200):
            sub = os.path.join(local, "maps", f"{i:03d}")
            os.makedirs(sub)
            for j in range(200):
                with open(os.path.join(sub, f"{j}.bsp"), "wb") as f:
                    f.write(b"m")
        d.api.wait_until(lambda b: entry(b).get("installed"), 30, path="/api/v1/games")
        events = d.api.event_stream()
        self.assertEqual(d.api.post(f"/api/v1/games/{GID}/uninstall").status, 202)
        # Cancelled once deleting has begun (progress is reported about 4 times a second).
        removing = events.next(lambda e: e["type"] == "operation_progress"
                               and e["data"]["phase"] == "removing" and e["data"]["done"] > 0, 60)
        self.assertIsNotNone(removing, "no progress while removing")
        self.assertEqual(d.api.post(f"/api/v1/games/{GID}/cancel").status, 202)
        end = events.next(lambda e: e["type"] in ENDS, 10)
        self.assertEqual((end["type"], end["data"]["kind"]), ("operation_cancelled", "uninstall"),
                         end)
        left = sum(len(fs) for _, _, fs in os.walk(local))
        self.assertGreater(left, 0)
        self.assertLess(left, files + 1)
        self.assertFalse(os.path.exists(os.path.join(root, ".local.backup")))
        self.assertFalse(os.path.exists(os.path.join(root, ".lanspread.json")))
        d.api.wait_until(lambda b: entry(b).get("installed") and not entry(b).get(
            "active_operation"), 20, path="/api/v1/games")
        self.assertEqual(d.api.post(f"/api/v1/games/{GID}/uninstall").status, 202)
        end = events.next(lambda e: e["type"] in ENDS, 120)
        self.assertEqual(end["type"], "operation_finished", end)
        self.assertFalse(os.path.exists(local))


if __name__ == "__main__":
    harness.main()
