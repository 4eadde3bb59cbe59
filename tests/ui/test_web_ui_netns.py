#!/usr/bin/python3
"""The web UI in a real browser against two real daemons. A seeder and a downloader run
`lanspread serve` on hosts in network namespaces; Debian's chromium, driven by
playwright-core (web/e2e/ui_e2e.mjs), runs inside the downloader's namespace, logs in through
the one-time link `serve` printed (after checking how the page's own files are served without
one), and does what a person would: finds the seeder's game with
its size, downloads it and watches the bar move, sees it installed, uninstalls and removes it,
looks at the peers, tries a games folder the daemon refuses, and names the seeder by
address in the network settings, sees it connected and removes it. Screenshots of every state
are kept in --shots.
Usage: test_web_ui_netns.py --tool <lanspread> --driver <ui_e2e.mjs> --shots <dir>"""
import argparse
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

DRIVER = None
SHOTS = None
GAME = "openarena"
VERSION = "20241002"
PAYLOAD = 48 * harness.CHUNK             # 96 MiB in 48 chunks, so the bar has steps to show
SIZE = PAYLOAD + len(VERSION) + 1        # the game's size includes its version.ini
SIZE_TEXT = "96 MiB"                     # how the page writes it (web/src/format.ts)
LOGIN = re.compile(r"http://127\.0\.0\.1:\d+/login\?token=[A-Za-z0-9._~%-]+")


def game(body, gid):
    return next((g for g in body.get("games", []) if g["id"] == gid), {})


class WebUi(harness.TestCase):
    def test_a_person_gets_a_game_from_the_page_and_removes_it(self):
        # Guards against a page that looks right and does not work: a login link that does
        # not log in, a game shown without its size, a download button whose bar never moves
        # or never ends, an install, uninstall or remove that the page claims but the disk
        # does not show, a peer named by address that the page never shows connected, and
        # scripts or styles the page's own CSP blocks.
        lan = self.lan()
        seed = lan.host("seed")
        # The downloader's link is limited so the download lasts a few seconds.
        leech = lan.host("leech", rate="160mbit")
        s = self.serve(seed, name="seeder")
        harness.make_game(s.games, GAME, VERSION, {"baseoa/pak0.pk3": PAYLOAD})
        d = self.serve(leech, name="player")
        self.assertIsNotNone(d.api.wait_until(
            lambda b: game(b, GAME).get("latest_peers") == [s.peer_id]
            and game(b, GAME).get("latest_size") == SIZE, 30, path="/api/v1/games"),
            "the downloader never saw the seeder's game with its size")

        login = harness.wait_until(lambda: (LOGIN.search(d.log_text()) or [None])[0], 10)
        self.assertIsNotNone(login, f"serve printed no login link:\n{d.log_tail()}")

        node = shutil.which("node")
        self.assertIsNotNone(node, "node is not on PATH")
        r = leech.run([node, DRIVER, "--base", "http://127.0.0.1:7878", "--login", login,
                       "--game", GAME, "--size", SIZE_TEXT, "--peer", "seeder",
                       "--games-dir", d.games, "--peer-address", f"{seed.ip()}:7979",
                       "--shots", SHOTS, "--step-timeout", "60"],
                      check=False, timeout=240)
        sys.stderr.write(r.stdout)
        self.assertEqual(r.returncode, 0, f"the browser test failed:\n{r.stderr}")
        self.assertFalse(os.path.exists(os.path.join(d.games, GAME, "version.ini")))
        self.assertTrue(os.path.isfile(os.path.join(s.games, GAME, "version.ini")),
                        "the seeder's copy was touched")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--driver", required=True)
    ap.add_argument("--shots", required=True)
    args, rest = ap.parse_known_args()
    DRIVER = os.path.abspath(args.driver)
    SHOTS = os.path.abspath(args.shots)
    harness.main(rest)
