#!/usr/bin/python3
"""`lanspread scan` as a user runs it, on a generated games dir (no network, no root).
Usage: scan_cli_test.py --tool <lanspread binary>"""
import hashlib
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402
from harness import CHUNK, write_file as write  # noqa: E402


def run(*args):
    return harness.run([harness.tool(), *args], check=False, timeout=120)


class ScanCli(harness.TestCase):
    def setUp(self):
        self.games = self.work.sub("games")
        g = self.games
        big = bytes((i * 7) & 0xFF for i in range(CHUNK + 1000))
        self.big = big
        write(f"{g}/openarena/version.ini", "20240115\n")
        write(f"{g}/openarena/baseoa/pak0.pk3", big)
        write(f"{g}/xonotic/version.ini", "[game]\nversion=0.8.6\n")
        write(f"{g}/xonotic/data.pk3", "x" * 100)
        os.makedirs(f"{g}/xonotic/local/data")
        write(f"{g}/xonotic/local/data/config.cfg", "name player")
        write(f"{g}/teeworlds/part.bin", "partial")  # no sentinel yet
        os.makedirs(f"{g}/0ad/version.ini")  # sentinel is a directory
        write(f"{g}/notacatalogid/version.ini", "1")
        os.symlink("/etc", f"{g}/openarena/etc-link")

    def test_json_reports_exact_states_and_verifiable_manifests(self):
        """Guards against `scan --json` reporting a state the files on disk do not imply, or
        manifests whose hashes disagree with an independent SHA-256."""
        r = run("scan", "--games", self.games, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        games = {g["id"]: g for g in doc["games"]}
        self.assertEqual(set(games), {"openarena", "xonotic", "teeworlds", "0ad"})
        state = {i: (g["downloaded"], g["installed"], g["version"]) for i, g in games.items()}
        self.assertEqual(state, {
            "openarena": (True, False, "20240115"),
            "xonotic": (True, True, "0.8.6"),
            "teeworlds": (False, False, ""),
            "0ad": (False, False, ""),
        })
        self.assertEqual([i["name"] for i in doc["ignored"]], ["notacatalogid"])
        self.assertIsNone(games["teeworlds"]["manifest"])

        files = {f["path"]: f for f in games["openarena"]["manifest"]["files"]}
        self.assertEqual(set(files), {"version.ini", "baseoa", "baseoa/pak0.pk3"})
        expected = [hashlib.sha256(self.big[o:o + CHUNK]).hexdigest()
                    for o in range(0, len(self.big), CHUNK)]
        self.assertEqual(files["baseoa/pak0.pk3"]["chunk_hashes"], expected)
        xfiles = {f["path"] for f in games["xonotic"]["manifest"]["files"]}
        self.assertFalse(any(p.startswith("local") for p in xfiles), xfiles)

    def test_table_names_games_and_problems(self):
        """Guards against the human table hiding games or the problem that disqualifies one."""
        r = run("scan", "--games", self.games)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("OpenArena", r.stdout)
        self.assertIn("Xonotic", r.stdout)
        self.assertIn("0ad", r.stdout)
        self.assertIn("version.ini is not a regular file", r.stdout)

    def test_missing_or_unusable_games_dir_fails_clearly(self):
        """Guards against silent success (or a created dir) on a missing or unusable games dir."""
        missing = os.path.join(self.work.path, "nope")
        r = run("scan", "--games", missing)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("does not exist", r.stderr)
        self.assertFalse(os.path.exists(missing))  # an explicit dir is never created
        a_file = os.path.join(self.work.path, "file")
        write(a_file, "x")
        r = run("scan", "--games", a_file)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("not a directory", r.stderr)

    def test_catalog_override_and_its_errors(self):
        """Guards against a --catalog file being ignored, or its errors reported without a
        file and line."""
        cat = os.path.join(self.work.path, "cat.ini")
        write(cat, "[teeworlds]\nname = Teeworlds\n")
        r = run("scan", "--games", self.games, "--catalog", cat, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([g["id"] for g in json.loads(r.stdout)["games"]], ["teeworlds"])
        write(cat, "[teeworlds]\nname = Teeworlds\nplayers = 8\n")
        r = run("scan", "--games", self.games, "--catalog", cat)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("cat.ini:3:", r.stderr)

    def test_default_games_dir_is_created(self):
        """Guards against a first run without --games failing instead of creating the
        default games dir."""
        env_home = os.path.join(self.work.path, "home")
        r = subprocess.run([self.tool, "scan"], capture_output=True, text=True, timeout=60,
                           env={**os.environ, "HOME": env_home, "XDG_DATA_HOME": "",
                                "LANSPREAD_GAMES_DIR": ""})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.isdir(os.path.join(env_home, ".local/share/lanspread/games")))


if __name__ == "__main__":
    harness.main(needs_root=False)
