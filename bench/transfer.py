"""What the download and swarm benchmarks share: test games of real bytes, a download timed
from the request to its end through a daemon's API, a host's interface counters and a
record of every failure."""
import os
import shutil
import time

import harness

GID = "openarena"
ENDS = ("operation_finished", "operation_failed", "operation_cancelled")
PIECE = 128 << 20  # largest payload file of a test game (and of one randbytes call)


def entry(body):
    return next((g for g in body.get("games", []) if g["id"] == GID), {})


def make_game(games_dir, size):
    """A game of `size` bytes in files of at most 128 MiB (deterministic, incompressible
    bytes), then version.ini. Returns the list of payload paths relative to the root."""
    files, left = [], size
    while left:
        n = min(PIECE, left)
        rel = f"data/pak{len(files)}.pk3"
        harness.write_file(os.path.join(games_dir, GID, rel),
                           harness.deterministic_bytes(n, f"{GID}:{rel}"))
        files.append(rel)
        left -= n
    harness.write_file(os.path.join(games_dir, GID, "version.ini"), "1\n")
    return files


def make_small_game(games_dir, count, size):
    """A game of `count` files of `size` bytes each (deterministic, incompressible), 100 to a
    directory, then version.ini. Returns the list of payload paths relative to the root."""
    files = []
    for i in range(count):
        rel = f"data/d{i // 100:03}/f{i % 100:02}.dat"
        harness.write_file(os.path.join(games_dir, GID, rel),
                           harness.deterministic_bytes(size, f"{GID}:{rel}"))
        files.append(rel)
    harness.write_file(os.path.join(games_dir, GID, "version.ini"), "1\n")
    return files


def link_game(source_games, games_dir):
    """The same game in another games dir, its payload hard-linked (no second copy on disk);
    the daemon writes its own index files beside them."""
    src = os.path.join(source_games, GID)
    for dirpath, _, names in os.walk(src):
        rel_dir = os.path.relpath(dirpath, src)
        os.makedirs(os.path.join(games_dir, GID, rel_dir), exist_ok=True)
        for name in names:
            if name.startswith(".lanspread") or name == "version.ini":
                continue
            os.link(os.path.join(dirpath, name), os.path.join(games_dir, GID, rel_dir, name))
    shutil.copy(os.path.join(src, "version.ini"), os.path.join(games_dir, GID, "version.ini"))


def wait_offered(daemon, peers=1, timeout=300):
    """Waits until `daemon` sees the game from `peers` peers; raises when it does not."""
    body = daemon.api.wait_until(lambda b: len(entry(b).get("latest_peers", [])) >= peers,
                                 timeout, path="/api/v1/games")
    if not body:
        raise RuntimeError(f"{daemon.name} did not see the game from {peers} peers in "
                           f"{timeout} s")


class Download:
    """A download requested through the API: start() sends the request, wait() returns
    (seconds from the request to the download's end event, that event)."""

    def __init__(self, daemon):
        self.daemon = daemon
        status = daemon.api.json("/api/v1/status")
        self.events = daemon.api.event_stream(since=status["event_seq"] + 1)
        self.start_time = None
        self.end = None
        self.seconds = None
        self.committing = None  # seconds from the request to the committing phase

    def start(self):
        self.start_time = time.perf_counter()
        r = self.daemon.api.post(f"/api/v1/games/{GID}/download")
        if not r.body or not r.body.get("accepted"):
            self.end = {"type": "refused", "data": {"reason": r.text}}
        return self

    def wait(self, timeout):
        if self.end is None:
            def ended(e):
                if (self.committing is None and e["data"].get("kind") == "download"
                        and e["data"].get("phase") == "committing"):
                    self.committing = time.perf_counter() - self.start_time
                return e["type"] in ENDS and e["data"].get("kind") == "download"
            end = self.events.next(ended, timeout)
            self.seconds = time.perf_counter() - self.start_time
            self.end = end or {"type": "timeout",
                               "data": {"reason": f"no end event within {timeout} s"}}
        return self.seconds, self.end

    def failure(self):
        """None when the download finished, else a line saying who failed and why."""
        if self.end and self.end["type"] == "operation_finished":
            return None
        data = (self.end or {}).get("data", {})
        return f"{self.daemon.name}: {(self.end or {}).get('type')}: {data.get('reason', data)}"

    def stop_install(self, timeout=60):
        """Cancels the install the daemon starts after a download and waits for its end, so
        it does not load the machine during the next measurement."""
        installs = ("install", "update")
        if self.events.next(lambda e: e["type"] == "operation_begin"
                            and e["data"].get("kind") in installs, 10):
            self.daemon.api.post(f"/api/v1/games/{GID}/cancel")
            self.events.next(lambda e: e["type"] in ENDS and e["data"].get("kind") in installs,
                             timeout)


def dir_size(path):
    return sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(path)
               for n in names)
