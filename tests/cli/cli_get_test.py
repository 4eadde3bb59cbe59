#!/usr/bin/python3
"""`lanspread get` as a person uses it: in a terminal (a pseudo-terminal), against two real
daemons on hosts in network namespaces (a seeder and a downloader), the CLI running in the
downloader's namespace. Usage: cli_get_test.py --tool <lanspread binary>"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_support  # noqa: E402
from cli_support import GAME, PtyRun, game, harness  # noqa: E402

SIZE = 24 * harness.CHUNK  # 48 MiB: at 100 Mbit/s about 4 s, many redraws
SLOW_SIZE = 48 * harness.CHUNK  # 96 MiB: at 40 Mbit/s about 20 s
# The download's line: "downloading 42%", then "finishing 100%" while the daemon commits.
PERCENT = re.compile(rb"(?:downloading|finishing)\s+(\d+)%")


def downloading_percents(output):
    """The percent of every drawing of the download line, in order."""
    return [int(m.group(1)) for m in PERCENT.finditer(output)]


class GetInATerminal(harness.TestCase):
    def get(self, downloader):
        run = PtyRun(cli_support.cli_argv(downloader, "get", GAME))
        self.addCleanup(run.close)
        return run

    def test_progress_line_is_redrawn_and_the_game_installed(self):
        """Guards against a `get` that prints a wall of lines (or nothing) instead of one
        live line, whose percent goes backwards or never reaches 100, or that exits before
        the game is installed."""
        seeder, downloader = cli_support.seeder_and_downloader(self, SIZE, rate="100mbit")
        run = self.get(downloader)
        code = run.wait(120)
        out = run.output
        self.assertEqual(code, 0, run.text())
        percents = downloading_percents(out)
        self.assertGreaterEqual(len(set(percents)), 3, run.text())
        self.assertEqual(percents, sorted(percents), run.text())
        self.assertEqual(percents[-1], 100, run.text())
        # Redrawn in place: each drawing starts with a carriage return, and the download
        # takes one line of the screen.
        self.assertGreaterEqual(out.count(b"\r"), len(percents))
        lines = [l for l in out.replace(b"\r\n", b"\n").split(b"\n") if PERCENT.search(l)]
        self.assertEqual(len(lines), 1, run.text())
        drawings = lines[0].split(b"\r")
        self.assertTrue(any(re.search(rb"B/s .*ETA .*peer", d) for d in drawings), run.text())
        self.assertIn(b"openarena: installed", out)
        harness.assert_same_tree(os.path.join(seeder.games, GAME, "baseoa"),
                                 os.path.join(downloader.games, GAME, "local", "baseoa"))

    def test_ctrl_c_cancels_the_download(self):
        """Guards against Ctrl-C leaving a download running in the daemon (or half a game
        on disk), and against an exit code that says nothing happened."""
        _, downloader = cli_support.seeder_and_downloader(self, SLOW_SIZE, rate="40mbit")
        run = self.get(downloader)
        started = run.read_until(lambda o: any(0 < p < 100 for p in downloading_percents(o)),
                                 60)
        self.assertTrue(started, run.text())
        run.ctrl_c()
        code = run.wait(40)
        self.assertEqual(code, 130, run.text())
        self.assertIn(b"download cancelled", run.output)
        oa = game(downloader.api.json("/api/v1/games"))
        self.assertIsNone(oa.get("active_operation"), oa)
        self.assertFalse(oa.get("downloaded"), oa)
        root = os.path.join(downloader.games, GAME)
        for gone in ("version.ini", "baseoa/pak0.pk3", "local"):
            self.assertFalse(os.path.exists(os.path.join(root, gone)), gone)


if __name__ == "__main__":
    harness.main()
