"""The test-case side: work dirs kept when a test fails, a TestCase base, main()."""
import argparse
import os
import shutil
import sys
import tempfile
import unittest

from . import cleanup, config
from .sh import run

KEEP_ENV = "LANSPREAD_KEEP_TEST_DIRS"


class Workdir:
    """A temp directory for one test's files and logs. close(keep) deletes it, or keeps it
    and prints its path with the last lines of every log registered with add_log()."""

    def __init__(self, label="test", parent=None):
        self.label = label
        self.path = tempfile.mkdtemp(prefix=f"lanspread-{_safe(label)}-", dir=parent)
        self.logs = []
        self.mounts = []
        self._aborting = False
        self.keep = False  # set when the test failed, before cleanup closes it
        self._closed = False
        self._token = cleanup.register(f"workdir {self.path}",
                                       lambda: self.close(keep=self._aborting or self.keep))
        cleanup.on_abort(self._abort)

    def sub(self, *parts):
        """The directory path/<parts...>, created."""
        p = os.path.join(self.path, *parts)
        os.makedirs(p, exist_ok=True)
        return p

    def file(self, *parts):
        """The path path/<parts...> with its parent directory created."""
        p = os.path.join(self.path, *parts)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def add_log(self, path):
        if path not in self.logs:
            self.logs.append(path)
        return path

    def mount_tmpfs(self, size, *parts):
        """A tmpfs of `size` ("40m") mounted on path/<parts...>: a small disk to fill.
        Unmounted at close, or by the reaper if this process is killed."""
        p = self.sub(*parts)
        run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", p])
        self.mounts.append(p)
        cleanup.tell_reaper(f"mount {p}")
        return p

    def report(self, lines=25):
        out = [f"harness: kept {self.path}"]
        for log in self.logs:
            try:
                with open(log, errors="replace") as f:
                    tail = f.read().splitlines()[-lines:]
            except OSError:
                continue
            out.append(f"---- last {len(tail)} lines of {log}")
            out.extend(tail)
        sys.stderr.write("\n".join(out) + "\n")
        sys.stderr.flush()

    def _abort(self):
        if not self._closed:
            self._aborting = True
            self.report()

    def close(self, keep=False):
        if self._closed:
            return
        self._closed = True
        cleanup.unregister(self._token)
        for m in reversed(self.mounts):
            run(["umount", "-l", m], check=False)
            cleanup.tell_reaper(f"unmount {m}")
        if keep or os.environ.get(KEEP_ENV):
            if not self._aborting:
                self.report()
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def _safe(label):
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[-60:]


class TestCase(unittest.TestCase):
    """A unittest.TestCase with `self.work` (a Workdir created on first use), `self.lan()`
    and `self.serve(host, ...)`. Everything the harness made during a test (processes,
    namespaces, listeners, mounts) is undone after it, newest first; the work dir is deleted,
    or kept with its logs' tails printed when the test failed or errored."""

    _work = None

    @property
    def work(self):
        if self._work is None:
            self._work = Workdir(self.id().split(".", 1)[-1])
        return self._work

    @property
    def tool(self):
        return config.tool()

    def lan(self):
        from .lan import Lan
        lan = Lan()
        self.addCleanup(lan.close)
        return lan

    def serve(self, host, **kwargs):
        d = host.serve(self.work, **kwargs)
        self.addCleanup(d.close)
        return d

    # --- shared by the tests of a class: create them in setUpClass ---------------------------
    @classmethod
    def _class_scope(cls):
        if cls.__dict__.get("_class_mark") is None:
            cls._class_mark = cleanup.mark()

    @classmethod
    def class_work(cls):
        """A Workdir shared by the class's tests (call from setUpClass), kept if any fails."""
        cls._class_scope()
        if cls.__dict__.get("_class_workdir") is None:
            cls._class_workdir = Workdir(cls.__name__)
        return cls._class_workdir

    @classmethod
    def class_lan(cls):
        """A Lan shared by the class's tests (call from setUpClass)."""
        from .lan import Lan
        cls._class_scope()
        return Lan()

    @classmethod
    def tearDownClass(cls):
        """Undoes what setUpClass made with the harness (call it when overriding)."""
        if cls.__dict__.get("_class_mark") is not None:
            cleanup.undo_since(cls._class_mark)
            cls._class_mark = None
            cls._class_workdir = None

    def run(self, result=None):
        before = _problems(result)
        point = cleanup.mark()
        try:
            return super().run(result)
        finally:
            failed = _problems(result) > before
            if self._work is not None:
                self._work.keep = failed
            shared = type(self).__dict__.get("_class_workdir")
            if shared is not None and failed:
                shared.keep = True
            cleanup.undo_since(point)
            self._work = None


def _problems(result):
    if result is None:
        return 0
    return len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)


def measured(what, value, unit="ms"):
    """Prints a figure for the report (not an assertion)."""
    if unit == "ms":
        sys.stderr.write(f"measured: {what}: {value * 1000:.0f} ms\n")
    else:
        sys.stderr.write(f"measured: {what}: {value} {unit}\n")


def parse_args(argv=None, description=None):
    """Parses --tool PATH / --tool NAME=PATH (repeatable) and --keep; returns (args, rest)."""
    ap = argparse.ArgumentParser(description=description, add_help=False)
    ap.add_argument("--tool", action="append", default=[],
                    help="lanspread binary, or NAME=PATH for another program")
    ap.add_argument("--keep", action="store_true", help="keep every work dir")
    args, rest = ap.parse_known_args(argv)
    for t in args.tool:
        name, sep, path = t.partition("=")
        if sep:
            config.set_tool(name, path)
        else:
            config.set_tool("lanspread", t)
    if args.keep:
        os.environ[KEEP_ENV] = "1"
    return args, rest


def require_root():
    if os.geteuid() != 0:
        sys.stderr.write("these tests create network namespaces: run them as root\n")
        sys.exit(1)


def main(argv=None, needs_root=True):
    """Entry point of a test file: parses harness options, then runs unittest."""
    _, rest = parse_args(argv)
    if needs_root:
        require_root()
    cleanup.install()
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
