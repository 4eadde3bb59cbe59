"""`lanspread serve` on a host, with its own games and state dirs and a log file.

    d = host.serve(work)                 # started; returns once its API answers
    d.api.json("/api/v1/status")
    d.stop()                             # SIGTERM, SIGKILL after a deadline; exit code
    d.restart()                          # same dirs, same log (appended)

The API listens on 127.0.0.1:<api_port> inside the host's namespace (7878 by default; 0
picks a free port, read back from the log)."""
import os
import re
import time

from . import config
from .api import ApiClient, ApiError
from .process import Process

_API_LINE = re.compile(r"API on http://127\.0\.0\.1:(\d+)/")


class DaemonError(RuntimeError):
    pass


class Daemon:
    def __init__(self, host, workdir, name=None, games=None, state=None, args=(),
                 api_port=7878, tool=None, start=True, ready_timeout=20.0, env=None,
                 games_flag=True):
        """workdir: a Workdir (its logs are shown when the test fails) or a directory path.
        games/state: directories to use (default <workdir>/<name>/games and .../state,
        created). args: more `serve` arguments (e.g. ["--party-key", path]). env: more
        environment variables; XDG_CONFIG_HOME is <workdir>/<name>/config unless given, so
        a daemon never reads the machine's settings file (`.config_file` is the one it uses).
        games_flag: False leaves out `--games` (the settings file or environment decide)."""
        self.host = host
        self.name = name or host.name
        base = getattr(workdir, "path", workdir)
        self.dir = os.path.join(base, self.name)
        self.games = games or os.path.join(self.dir, "games")
        self.state = state or os.path.join(self.dir, "state")
        os.makedirs(self.games, exist_ok=True)
        os.makedirs(self.state, exist_ok=True)
        self.log_path = os.path.join(self.dir, "serve.log")
        if hasattr(workdir, "add_log"):
            workdir.add_log(self.log_path)
        self.args = [str(a) for a in args]
        self.env = {"XDG_CONFIG_HOME": os.path.join(self.dir, "config"), **(env or {})}
        self.config_file = os.path.join(self.env["XDG_CONFIG_HOME"], "lanspread", "config")
        self.games_flag = games_flag
        self.api_port_wanted = api_port
        self.tool = tool or config.tool()
        self.key_file = os.path.join(self.state, "api-key")
        self.proc = None
        self.api = None
        self.peer_id = None
        self.starts = 0
        if start:
            self.start(ready_timeout=ready_timeout)

    def argv(self):
        games = ["--games", self.games] if self.games_flag else []
        return [self.tool, "serve", *games, "--state", self.state, "--name",
                self.name, "--api", f"127.0.0.1:{self.api_port_wanted}", *self.args]

    def start(self, wait=True, ready_timeout=20.0):
        if self.running():
            raise DaemonError(f"{self.name} is already running (pid {self.proc.pid})")
        if self.proc:
            self.proc.close()
        self.starts += 1
        with open(self.log_path, "a") as f:
            f.write(f"==== harness: start {self.starts} of {self.name} on {self.host.ns}: "
                    f"{' '.join(self.argv())}\n")
        self._log_offset = os.path.getsize(self.log_path)
        self.proc = Process(self.host.argv(self.argv()), log=self.log_path, capture=False,
                            env=self.env, name=f"serve {self.name}")
        self.api = None
        if wait:
            self.wait_ready(ready_timeout)
        return self

    def wait_ready(self, timeout=20.0):
        """Waits until the API answers /api/v1/status; raises DaemonError (with the log's
        last lines) when the daemon exits or does not answer within `timeout`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running():
                raise DaemonError(f"{self.name} exited with {self.proc.proc.returncode} "
                                  f"before its API answered:\n{self.log_tail()}")
            port = self._api_port()
            if port:
                api = ApiClient(self.host.ns, port, self.key_file)
                try:
                    r = api.get("/api/v1/status", timeout=2)
                    if r.ok and r.body:
                        self.api = api
                        self.peer_id = r.body.get("peer_id")
                        return self
                except ApiError:
                    pass
            time.sleep(0.05)
        raise DaemonError(f"{self.name}'s API did not answer within {timeout} s:\n"
                          f"{self.log_tail()}")

    def _api_port(self):
        if self.api_port_wanted:
            return self.api_port_wanted
        with open(self.log_path, errors="replace") as f:
            f.seek(self._log_offset)
            m = _API_LINE.search(f.read())
        return int(m.group(1)) if m else None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def running(self):
        return bool(self.proc) and self.proc.running()

    def stop(self, timeout=10.0):
        """SIGTERM, SIGKILL after `timeout`. The exit code of a clean stop, None if killed."""
        return self.proc.stop(timeout) if self.proc else None

    def kill(self):
        """kill -9: no goodbye, no cleanup."""
        if self.proc:
            self.proc.kill()

    def pause(self):
        """SIGSTOP: alive but silent (sockets open, nothing answered)."""
        self.proc.pause()

    def resume(self):
        self.proc.resume()

    def restart(self, wait=True, timeout=10.0, ready_timeout=20.0):
        """Stops (if running) and starts again with the same dirs."""
        if self.running():
            self.stop(timeout)
        return self.start(wait=wait, ready_timeout=ready_timeout)

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def log_tail(self, lines=30):
        try:
            return "".join(self.log_text().splitlines(keepends=True)[-lines:])
        except OSError:
            return "(no log)"

    def close(self):
        if self.proc:
            self.proc.close()
