"""What the CLI's process tests share on top of the harness: a seeder and a downloader
daemon on one LAN (the seeder holding `openarena`), the CLI run inside a host's namespace
(captured, or under a pseudo-terminal of its own, as a person runs it), JSON lines."""
import errno
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness  # noqa: E402

GAME = "openarena"
VERSION = "20241002"


def game(body, gid=GAME):
    """The game's entry in a /games body, or {} while the daemon has not loaded it."""
    return next((g for g in (body or {}).get("games", []) if g["id"] == gid), {})


def seeder_and_downloader(case, size, rate=None):
    """Two daemons on a new LAN of `case` (a harness.TestCase): the seeder holds GAME with a
    payload of `size` bytes; `rate` limits the downloader's link (tc tbf). Returns (seeder,
    downloader) once the downloader sees the game offered."""
    lan = case.lan()
    harness.make_game(case.work.sub("seeder", "games"), GAME, VERSION,
                      {"baseoa/pak0.pk3": size, "baseoa/small.cfg": "seta name player\n"})
    seeder = case.serve(lan.host("seeder"))
    downloader = case.serve(lan.host("downloader", rate=rate))
    offered = downloader.api.wait_until(lambda b: game(b).get("latest_peers"), 40,
                                        path="/api/v1/games")
    case.assertIsNotNone(offered, "the downloader never saw the seeder's game")
    return seeder, downloader


def cli_argv(daemon, *args):
    """The CLI in `daemon`'s host, pointed at its state dir (its API key)."""
    return daemon.host.argv([harness.tool(), *args, "--state-dir", daemon.state])


def cli(daemon, *args, timeout=120, cwd=None):
    """Runs the CLI to completion in `daemon`'s host: a CompletedProcess (text)."""
    import subprocess
    return subprocess.run(cli_argv(daemon, *args), capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)


def json_lines(text):
    """Every non-empty line of `text` parsed as JSON (a line that is not fails the caller)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


class PtyRun:
    """A program on a pseudo-terminal of its own, `columns` wide: it is the session leader
    and the terminal's foreground process group, as under a shell, so Ctrl-C typed on the
    terminal reaches it as SIGINT. Everything it writes is kept in `output` (bytes)."""

    def __init__(self, argv, columns=120):
        self.output = b""
        self.status = None
        pid, fd = pty.fork()
        if pid == 0:  # the child: set the size before the program asks for it
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, columns, 0, 0))
                os.environ["TERM"] = "xterm"
                os.execvp(argv[0], argv)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd

    def _read(self, wait):
        """Reads what is there within `wait` seconds; False at end of output."""
        ready, _, _ = select.select([self.fd], [], [], wait)
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError as e:
            if e.errno != errno.EIO:  # EIO: the program closed the terminal
                raise
            chunk = b""
        self.output += chunk
        return bool(chunk)

    def read_until(self, predicate, timeout):
        """Reads until predicate(output) holds (True), the output ends or `timeout` passes."""
        deadline = time.monotonic() + timeout
        while not predicate(self.output) and time.monotonic() < deadline:
            if not self._read(0.2):
                break
        return predicate(self.output)

    def ctrl_c(self):
        """Types Ctrl-C: the terminal sends SIGINT to its foreground process group."""
        os.write(self.fd, b"\x03")

    def wait(self, timeout):
        """Reads the rest of the output; the exit code, or None if it still runs."""
        deadline = time.monotonic() + timeout
        open_ = True
        while time.monotonic() < deadline:
            if open_:
                open_ = self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                return self.status
            if not open_:
                time.sleep(0.05)
        return None

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.status = -signal.SIGKILL
        os.close(self.fd)

    def text(self):
        return self.output.decode("utf-8", "replace")
