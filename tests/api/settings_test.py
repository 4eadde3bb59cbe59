#!/usr/bin/python3
"""The daemon's settings file ($XDG_CONFIG_HOME/lanspread/config, or `serve --config FILE`)
with real `lanspread serve` daemons: what the API changes survives a restart, flags and the
environment win over the file, the file's peers and interfaces are read and shown, and a bad
file stops the daemon with a message naming the file and line.
Usage: settings_test.py --tool <lanspread binary>"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class SettingsFile(harness.TestCase):
    def test_games_dir_set_through_the_api_survives_a_restart(self):
        # Guards against a games dir chosen in the UI or CLI being forgotten at the next start
        # (the daemon started without --games reads it back from the settings file), and
        # against a change that the API reports before the daemon made it.
        host = self.lan().host("solo")
        d = self.serve(host, games_flag=False,
                       env={"LANSPREAD_GAMES_DIR": "", "XDG_DATA_HOME": self.work.sub("data")})
        # With no flag, no environment and no file: the default under the data dir.
        default = os.path.join(self.work.sub("data"), "lanspread", "games")
        self.assertEqual(d.api.json("/api/v1/status")["games_dir"], default)
        chosen = self.work.sub("chosen")
        harness.make_game(chosen, "openarena", "1")
        r = d.api.put("/api/v1/settings/games-dir", body={"path": chosen})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual((r.body["games_dir"], r.body["saved"]), (chosen, True))
        # Answered after the switch: the status already says so.
        self.assertEqual(d.api.json("/api/v1/status")["games_dir"], chosen)
        with open(d.config_file) as f:
            self.assertIn(f"games_dir = {chosen}\n", f.read())
        d.restart()
        self.assertEqual(d.api.json("/api/v1/status")["games_dir"], chosen)
        self.assertEqual(d.api.json("/api/v1/settings")["games_dir"], chosen)

    def test_flags_and_environment_win_over_the_file(self):
        # Guards against the settings file overriding what a person or a service unit asked
        # for on the command line or in the environment.
        host = self.lan().host("solo")
        in_file, by_env, by_flag = (self.work.sub(n) for n in ("in-file", "by-env", "by-flag"))
        config = self.work.file("my-config")
        write(config, f"games_dir = {in_file}\n")
        d = self.serve(host, games=by_flag, args=["--config", config])
        self.assertEqual(d.api.json("/api/v1/status")["games_dir"], by_flag)
        self.assertEqual(d.api.json("/api/v1/settings")["config_file"], config)
        d.stop()
        d.games_flag = False
        d.env["LANSPREAD_GAMES_DIR"] = by_env
        d.start()
        self.assertEqual(d.api.json("/api/v1/status")["games_dir"], by_env)
        d.stop()
        d.env["LANSPREAD_GAMES_DIR"] = ""
        d.start()
        self.assertEqual(d.api.json("/api/v1/status")["games_dir"], in_file)

    def test_peers_and_interfaces_are_read_and_shown(self):
        # Guards against manual peers and interfaces in the file being lost or mangled, and
        # against a misspelt key stopping the daemon (it is only a warning).
        host = self.lan().host("solo")
        d = self.serve(host, start=False)
        write(d.config_file, "# party\npeer = 192.168.1.20:7979\npeer = [fe80::1%eth0]:7000\n"
                             "interface = eth0\nall_interfaces = true\ncolour = blue\n")
        d.start()
        s = d.api.json("/api/v1/settings")
        self.assertEqual(s["peers"], ["192.168.1.20:7979", "[fe80::1%eth0]:7000"])
        self.assertEqual((s["interfaces"], s["all_interfaces"]), (["eth0"], True))
        self.assertEqual(s["config_file"], d.config_file)
        self.assertIn(f"{d.config_file}:6: unknown key 'colour' ignored", d.log_text())

    def test_a_bad_file_stops_the_daemon_naming_file_and_line(self):
        # Guards against a bad value being ignored or guessed at: the daemon must not start,
        # and must say which file and line to fix.
        host = self.lan().host("solo")
        d = self.serve(host, start=False)
        write(d.config_file, "games_dir = /srv/games\n\npeer = box:99999\n")
        log = self.work.file("bad-config.log")
        proc = host.spawn(d.argv(), log=log, capture=False, env=d.env)
        self.assertEqual(proc.wait(20), 1)
        with open(log) as f:
            self.assertIn(f"{d.config_file}:3: peer must be HOST or HOST:PORT", f.read())


if __name__ == "__main__":
    harness.main()
