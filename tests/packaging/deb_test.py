#!/usr/bin/python3
"""Builds the Debian package with `cpack -G DEB` from the build tree and checks it as a
person installing it would: what is inside (dpkg-deb -c), its control fields and
dependencies (dpkg-deb -I), that the packaged program runs, and that the systemd user unit
is valid. Usage: deb_test.py --build-dir <cmake build dir>"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

BUILD = None


def run(*argv, **kw):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=kw.pop("timeout", 300),
                          **kw)


class DebianPackage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="lanspread-deb-")
        r = run("cpack", "-G", "DEB", "-B", cls.tmp, "--config",
                os.path.join(BUILD, "CPackConfig.cmake"), cwd=BUILD)
        if r.returncode != 0:
            raise AssertionError("cpack failed:\n" + r.stdout + r.stderr)
        debs = glob.glob(os.path.join(cls.tmp, "*.deb"))
        if len(debs) != 1:
            raise AssertionError(f"expected one .deb, got {debs}")
        cls.deb = debs[0]
        cls.root = os.path.join(cls.tmp, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True, timeout=60)
        cls.version = run(os.path.join(BUILD, "lanspread"), "version").stdout.split()[-1]

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def contents(self):
        """{path: (mode, owner)} from dpkg-deb -c."""
        out = run("dpkg-deb", "-c", self.deb).stdout
        entries = {}
        for line in out.splitlines():
            parts = line.split()
            entries[parts[-1]] = (parts[0], parts[1])
        return entries

    def control(self):
        out = run("dpkg-deb", "-f", self.deb).stdout
        fields, key = {}, None
        for line in out.splitlines():
            if line.startswith(" ") and key:
                fields[key] += "\n" + line
            else:
                key, _, value = line.partition(": ")
                fields[key] = value
        return fields

    def test_contents(self):
        # Guards against a package that lacks the program, the unit or the docs, puts them
        # where systemd or a person does not look, or ships files with odd owners or modes.
        entries = self.contents()
        expect = {
            "./usr/bin/lanspread": "-rwxr-xr-x",
            "./usr/lib/systemd/user/lanspread.service": "-rw-r--r--",
            "./usr/share/doc/lanspread/README.md": "-rw-r--r--",
            "./usr/share/doc/lanspread/cli.md": "-rw-r--r--",
            "./usr/share/doc/lanspread/api.md": "-rw-r--r--",
            "./usr/share/doc/lanspread/security.md": "-rw-r--r--",
        }
        for path, mode in expect.items():
            self.assertIn(path, entries, sorted(entries))
            self.assertEqual(entries[path][0], mode, path)
        for path, (mode, owner) in entries.items():
            self.assertTrue(path.startswith("./usr/"), path)
            self.assertEqual(owner, "root/root", path)
        # Stripped: no debug sections shipped.
        sections = run("readelf", "-S", os.path.join(self.root, "usr/bin/lanspread")).stdout
        self.assertNotIn(".debug_info", sections)

    def test_control_fields_and_dependencies(self):
        # Guards against a package that installs on a machine lacking the libraries the
        # program needs (dependencies not computed by dpkg-shlibdeps), or with a wrong name,
        # version or architecture.
        info = run("dpkg-deb", "-I", self.deb)
        self.assertEqual(info.returncode, 0, info.stderr)
        c = self.control()
        self.assertEqual(c["Package"], "lanspread")
        self.assertEqual(c["Version"], self.version)
        self.assertEqual(c["Architecture"], run("dpkg", "--print-architecture").stdout.strip())
        self.assertEqual(c["Section"], "games")
        self.assertRegex(c["Maintainer"], r".+ <[^>]+@[^>]+>")
        self.assertTrue(c["Description"].strip())
        depends = {d.strip().split()[0]: d.strip() for d in c["Depends"].split(",")}
        # Every library the packaged binary needs directly belongs to a package it depends
        # on (the libraries those need are their packages' business).
        exe = os.path.join(self.root, "usr/bin/lanspread")
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", exe).stdout)
        where = dict(re.findall(r"^\s*(\S+) => (/\S+)", run("ldd", exe).stdout, re.M))
        self.assertGreater(len(needed), 5, needed)
        for name in needed:
            self.assertIn(name, where, f"{name} is not found on this machine")
            lib = where[name]
            owner = run("dpkg", "-S", os.path.realpath(lib))
            if owner.returncode != 0:
                owner = run("dpkg", "-S", lib)
            self.assertEqual(owner.returncode, 0, f"{lib} belongs to no package")
            pkg = owner.stdout.split(":")[0].strip()
            # A dependency may name the package or a virtual package it provides.
            provides = run("dpkg-query", "-W", "-f", "${Provides}", pkg).stdout
            names = {pkg} | {p.strip().split()[0] for p in provides.split(",") if p.strip()}
            self.assertTrue(names & set(depends),
                            f"{lib} comes from {pkg} ({names}), not in Depends: {c['Depends']}")
        for pkg in ("libc6", "libgnutls30", "libarchive13", "libstdc++6"):
            self.assertRegex(depends.get(pkg, ""), r"\(>= ", pkg)

    def test_packaged_program_runs(self):
        # Guards against a broken or truncated binary in the package.
        exe = os.path.join(self.root, "usr/bin/lanspread")
        r = run(exe, "version")
        self.assertEqual((r.returncode, r.stdout.strip()), (0, f"lanspread {self.version}"))
        self.assertEqual(run(exe, "help").returncode, 0)

    def test_user_unit(self):
        # Guards against a unit systemd rejects or half-ignores (unknown keys are only
        # warnings), or one that starts something other than the daemon.
        unit = os.path.join(self.root, "usr/lib/systemd/user/lanspread.service")
        with open(unit) as f:
            text = f.read()
        self.assertIn("\nExecStart=/usr/bin/lanspread serve\n", text)
        self.assertIn("\nRestart=on-failure\n", text)
        self.assertIn("\nWantedBy=default.target\n", text)
        self.assertIn("\nNoNewPrivileges=yes\n", text)
        # systemd-analyze checks that ExecStart exists: point it at the packaged binary.
        local = os.path.join(self.tmp, "lanspread.service")
        with open(local, "w") as f:
            f.write(text.replace("ExecStart=/usr/bin/lanspread",
                                 "ExecStart=" + os.path.join(self.root, "usr/bin/lanspread")))
        runtime = os.path.join(self.tmp, "xdg-runtime")
        os.makedirs(runtime, mode=0o700)
        r = run("systemd-analyze", "--user", "verify", local,
                env=dict(os.environ, XDG_RUNTIME_DIR=runtime))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "systemd-analyze has objections")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    args, rest = ap.parse_known_args()
    BUILD = os.path.abspath(args.build_dir)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
