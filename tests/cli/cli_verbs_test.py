#!/usr/bin/python3
"""Every CLI verb against real daemons on hosts in network namespaces: the shape of its
--json output, its exit code, what it says when the daemon is not running, and usage errors.
Usage: cli_verbs_test.py --tool <lanspread binary>"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cli_support  # noqa: E402
from cli_support import GAME, game, harness, json_lines  # noqa: E402

VERBS = {"serve", "games", "peers", "status", "get", "update", "install", "uninstall", "remove",
         "cancel", "verify", "watch", "set-games-dir", "open", "version", "help", "scan",
         "discover"}
GAME_KEYS = {"id", "name", "description", "genre", "max_players", "downloaded", "installed",
             "local_version", "local_size", "latest_version", "latest_peers", "peers_by_version",
             "update_available", "available", "active_operation"}


def one_document(test, proc):
    """stdout holds exactly one JSON document, on one line."""
    lines = [l for l in proc.stdout.splitlines() if l.strip()]
    test.assertEqual(len(lines), 1, proc.stdout + proc.stderr)
    return json.loads(lines[0])


class Verbs(harness.TestCase):
    """The tests share one LAN and run in name order: queries, then the operations, then
    the games dir."""

    @classmethod
    def setUpClass(cls):
        work = cls.class_work()
        lan = cls.class_lan()
        harness.make_game(work.sub("seeder", "games"), GAME, cli_support.VERSION,
                          {"baseoa/pak0.pk3": 12 * harness.CHUNK})
        cls.seeder = lan.host("seeder").serve(work)
        cls.downloader = lan.host("downloader").serve(work)
        cls.nobody = lan.host("nobody")  # runs no daemon
        cls.tmp = work.path

    def cli(self, *args, **kw):
        return cli_support.cli(self.downloader, *args, **kw)

    def api(self, path):
        """GET `path` from the downloader's daemon: (status, body)."""
        r = self.downloader.api.get(path)
        return r.status, r.body

    def wait_offered(self):
        return self.downloader.api.wait_until(lambda b: game(b).get("latest_peers"), 40,
                                              path="/api/v1/games")

    def test_a_queries(self):
        # Guards against --json output a script cannot parse or whose fields moved, and
        # against the one-game endpoint disagreeing with the list.
        self.assertIsNotNone(self.wait_offered(), "the downloader never saw the game")
        seeder_id = self.seeder.peer_id

        def plain(*a):
            return subprocess.run([harness.tool(), *a], capture_output=True, text=True,
                                  timeout=30)
        v = one_document(self, plain("version", "--json"))
        self.assertRegex(v["version"], r"^\d+\.\d+\.\d+")
        h = one_document(self, plain("help", "--json"))
        self.assertEqual({x["name"] for x in h["verbs"]}, VERBS)

        st = one_document(self, self.cli("status", "--json"))
        self.assertLessEqual({"peer_id", "name", "games_dir", "quic_port", "version",
                              "peer_count", "event_seq"}, set(st))
        self.assertEqual(st["name"], "downloader")
        self.assertEqual(st["games_dir"], self.downloader.games)

        peers = one_document(self, self.cli("peers", "--json"))["peers"]
        self.assertEqual([p["id"] for p in peers], [seeder_id])
        self.assertTrue({"id", "name", "addresses", "port", "game_count",
                         "last_seen_ms_ago"} <= set(peers[0]))

        games = one_document(self, self.cli("games", "--json"))
        oa = game(games, "openarena")
        self.assertTrue(GAME_KEYS <= set(oa), oa)
        self.assertEqual(oa["latest_peers"], [seeder_id])
        self.assertEqual(oa["latest_version"], "20241002")

        status, one = self.api("/api/v1/games/openarena")
        self.assertEqual(status, 200)
        self.assertEqual(one["id"], "openarena")
        self.assertEqual(set(one), set(oa))
        status, missing = self.api("/api/v1/games/nosuchgame")
        self.assertEqual(status, 404)
        self.assertEqual(missing["error"]["code"], "not_found")

        # Human output: tables, sizes, no JSON.
        text = self.cli("games").stdout
        row = next(l for l in text.splitlines() if l.startswith("openarena "))
        self.assertRegex(row, r"available .* 25\.\d MB +1$")  # the size a download fetches
        self.assertNotIn("{", text)
        self.assertIn("seeder", self.cli("peers").stdout)
        self.assertIn("games dir", self.cli("status").stdout)

    def test_b_operations(self):
        # Guards against action verbs whose JSON lines cannot be followed by a script, that
        # exit 0 on refusal, or that return before the daemon finished.
        self.assertIsNotNone(self.wait_offered(), "the downloader never saw the game")
        early = self.cli("update", GAME, "--json")
        self.assertEqual(early.returncode, 4, early.stdout + early.stderr)
        self.assertEqual(json_lines(early.stdout)[-1]["data"]["outcome"], "refused")
        self.assertIn("lanspread get openarena", early.stderr)
        watch = subprocess.Popen(cli_support.cli_argv(self.downloader, "watch", "--json"), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(1)  # watch has subscribed (it prints its snapshot line first)
            got = self.cli("get", "openarena", "--json")
            self.assertEqual(got.returncode, 0, got.stdout + got.stderr)
            lines = json_lines(got.stdout)
            self.assertEqual(lines[-1]["type"], "result")
            self.assertEqual(lines[-1]["data"]["outcome"], "done")
            self.assertEqual(lines[-1]["data"]["exit_code"], 0)
            types = {l["type"] for l in lines}
            self.assertLessEqual(types, {"operation_begin", "operation_progress",
                                         "operation_finished", "result"}, types)
            kinds = [l["data"]["kind"] for l in lines if l["type"] == "operation_finished"]
            self.assertEqual(kinds, ["download", "install"])
            done = [l["data"]["done"] for l in lines if l["type"] == "operation_progress"
                    and l["data"]["kind"] == "download"]
            self.assertEqual(done, sorted(done))
            self.assertTrue(all(l["data"]["id"] == "openarena" for l in lines))
        finally:
            time.sleep(0.5)
            watch.send_signal(signal.SIGINT)
            out, err = watch.communicate(timeout=10)
        self.assertEqual(watch.returncode, 0, err)
        wl = json_lines(out)
        self.assertEqual(wl[0]["type"], "active_operations")
        self.assertTrue(any(l["type"] == "operation_begin" and l["data"]["kind"] == "download"
                            for l in wl), wl)
        self.assertTrue(any(l["type"] == "operation_finished" and l["data"]["kind"] == "install"
                            for l in wl), wl)

        again = self.cli("get", "openarena", "--json")
        self.assertEqual(again.returncode, 0)
        self.assertEqual([l["type"] for l in json_lines(again.stdout)], ["result"])

        refused = self.cli("update", "openarena", "--json")
        self.assertEqual(refused.returncode, 4, refused.stdout + refused.stderr)
        last = json_lines(refused.stdout)[-1]
        self.assertEqual((last["type"], last["data"]["outcome"]), ("result", "refused"))
        self.assertIn("latest version", refused.stderr)

        for verb, state in (("uninstall", {"installed": False, "downloaded": True}),
                            ("remove", {"installed": False, "downloaded": False})):
            r = self.cli(verb, "openarena", "--json")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertEqual(json_lines(r.stdout)[-1]["data"]["outcome"], "done")
            now = self.api("/api/v1/games/openarena")[1]
            self.assertEqual({k: now[k] for k in state}, state)

        nothing = self.cli("cancel", "openarena", "--json")
        self.assertEqual(nothing.returncode, 4)
        self.assertEqual(json_lines(nothing.stdout)[-1]["data"]["outcome"], "refused")
        self.assertIn("nothing is running", nothing.stderr)
        nogame = self.cli("install", "nosuchgame", "--json")
        self.assertEqual(nogame.returncode, 4)

        # Not a terminal: plain progress lines, nothing redrawn; --quiet: nothing at all.
        plain = self.cli("get", GAME)
        self.assertEqual(plain.returncode, 0, plain.stderr)
        self.assertNotIn("\r", plain.stdout)
        self.assertNotIn("\x1b", plain.stdout)
        self.assertIn("openarena: installed", plain.stdout)
        self.assertEqual(self.cli("uninstall", GAME, "--quiet").stdout, "")
        self.assertTrue(self.api("/api/v1/games/openarena")[1]["downloaded"])

    def test_c_set_games_dir(self):
        # Guards against a relative path sent as is (the daemon's working directory is not
        # the user's), and against a refused directory reported as success.
        other = os.path.join(self.tmp, "other-games")
        os.makedirs(other)
        r = subprocess.run(cli_support.cli_argv(self.downloader, "set-games-dir", "other-games", "--json"),
                           capture_output=True, text=True, timeout=60, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(one_document(self, r)["path"], other)
        self.assertEqual(self.api("/api/v1/status")[1]["games_dir"], other)
        bad = self.cli("set-games-dir", os.path.join(self.tmp, "does-not-exist"), "--json")
        self.assertEqual(bad.returncode, 4)
        self.assertEqual(one_document(self, bad)["error"]["code"], "games_dir_invalid")
        back = self.cli("set-games-dir", self.downloader.games)
        self.assertEqual(back.returncode, 0, back.stderr)
        self.assertIn("games dir is now", back.stdout)

    def test_d_key_and_login_link(self):
        # Guards against a CLI that cannot authenticate (or hides why not), and against an
        # `open` whose link is not the daemon's one-time login.
        elsewhere = os.path.join(self.tmp, "no-key-here")
        os.makedirs(elsewhere, exist_ok=True)
        r = subprocess.run(self.downloader.host.argv([harness.tool(), "games", "--json",
                                                      "--state-dir", elsewhere]),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertEqual(one_document(self, r)["error"]["code"], "unauthorized")
        self.assertIn(os.path.join(elsewhere, "api-key"), r.stderr)
        self.assertIn("--state-dir", r.stderr)
        env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
        r = subprocess.run(cli_support.cli_argv(self.downloader, "open", "--json"),
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        link = one_document(self, r)
        self.assertRegex(link["url"], r"^http://127\.0\.0\.1:7878/login\?token=[0-9a-f]{64}$")
        self.assertIs(link["opened"], False)
        # The link logs a browser in once: the daemon answers it with a session cookie.
        first = self.downloader.api.anonymous().get(link["url"][len("http://127.0.0.1:7878"):])
        self.assertEqual(first.status, 303)
        self.assertIn("lanspread_session=", first.headers.get("Set-Cookie", ""))

    def test_e_open_hands_the_browser_a_private_file(self):
        # Guards against `open` passing the login link (its token) to the browser opener as
        # an argument, which every local user can read in /proc/<pid>/cmdline: the opener
        # must get a file only its owner can read, and that file must lead to the link.
        bin_dir = os.path.join(self.tmp, "fake-opener")
        run_dir = os.path.join(self.tmp, "runtime-dir")
        os.makedirs(bin_dir, exist_ok=True)
        os.makedirs(run_dir, mode=0o700, exist_ok=True)
        record = os.path.join(self.tmp, "opener-argv.json")
        opener = os.path.join(bin_dir, "xdg-open")
        with open(opener, "w") as f:
            f.write("#!/usr/bin/python3\nimport json, sys\n"
                    f"json.dump(sys.argv[1:], open({record!r}, 'w'))\n")
        os.chmod(opener, 0o755)
        env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
        env.update(DISPLAY=":99", PATH=bin_dir + os.pathsep + env.get("PATH", ""),
                   XDG_RUNTIME_DIR=run_dir)
        r = subprocess.run(cli_support.cli_argv(self.downloader, "open", "--json"),
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        link = one_document(self, r)
        self.assertIs(link["opened"], True)
        token = link["url"].split("token=")[1]
        with open(record) as f:
            argv = json.load(f)
        self.assertEqual(len(argv), 1, argv)
        self.assertNotIn(token, " ".join(argv))
        self.assertNotIn("token", " ".join(argv))
        page = argv[0]
        self.assertEqual(os.path.dirname(page), run_dir)
        self.assertEqual(os.stat(page).st_mode & 0o777, 0o600)
        with open(page) as f:
            html = f.read()
        self.assertIn(f'http-equiv="refresh" content="0; url={link["url"]}"', html)
        self.assertIn(f'location.replace("{link["url"]}")', html)
        # The page's link is the live one-time login.
        first = self.downloader.api.anonymous().get(link["url"][len("http://127.0.0.1:7878"):])
        self.assertEqual(first.status, 303)

    def test_daemon_not_running(self):
        # Guards against a stack trace, a hang or a vague error when no daemon runs: the
        # person is told how to start it, and scripts get exit code 3.
        for args in (["games"], ["status"], ["get", "openarena"], ["watch"], ["open"]):
            r = subprocess.run(self.nobody.argv([harness.tool(), *args]), capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 3, (args, r.stdout, r.stderr))
            self.assertIn("lanspread serve", r.stderr)
            self.assertIn("systemctl --user start lanspread", r.stderr)
        r = subprocess.run(self.nobody.argv([harness.tool(), "peers", "--json"]), capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 3)
        self.assertEqual(one_document(self, r)["error"]["code"], "daemon_not_running")

    def test_usage_errors(self):
        # Guards against a typo that runs something, or exits like a daemon problem.
        for args in ([], ["frobnicate"], ["get"], ["get", "a", "b"], ["update"],
                     ["update", "openarena", "--all"], ["games", "--bogus"],
                     ["games", "--api", "nonsense"], ["get", "Bad/Id"], ["help", "nosuch"],
                     ["set-games-dir"]):
            r = subprocess.run(self.nobody.argv([harness.tool(), *args]),
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
        h = subprocess.run([harness.tool(), "help"], capture_output=True, text=True, timeout=30)
        self.assertEqual(h.returncode, 0)
        for verb in ("games", "get", "watch", "open"):
            self.assertIn(verb, h.stdout)
        self.assertEqual(subprocess.run([harness.tool(), "version"], capture_output=True,
                                        text=True, timeout=30).returncode, 0)


if __name__ == "__main__":
    harness.main()
