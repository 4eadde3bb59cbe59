#!/usr/bin/python3
"""Swarm benchmark: one seeder and --downloaders (8) downloaders of a --size MiB game (256), all
on --rate (100mbit) `tc tbf` links, hosts in network namespaces on one bridge. All downloaders
start at once; `all_done_s` runs until the last one's download has ended. In the same run one
seeder and one downloader alone give `single_s`; `ratio` = all_done_s / single_s (8 when the
seeder's uplink serves every copy, near 1 when the downloaders serve each other), and
`seed_uploaded_copies` = the bytes the seeder's interface sent during the swarm / the game's
size (from its counters in its namespace). lanspread is driven through the daemons' HTTP API,
timed from the download requests to each `operation_finished` event (the install that
follows is not waited for). The baseline is BitTorrent between aria2c processes on the same
hosts and links (DHT and LPD off, peers from a small HTTP tracker in this script, the seeder
and the finished downloaders keep seeding): `bt_ratio`, `bt_copies`. Every downloader of
every run must finish with the seeder's bytes: failures are counted, with their reasons, in
the JSON, and the exit status is 1. Needs root and aria2c.
  swarm_bench.py --tool <lanspread binary> [--downloaders N] [--size MiB] [--rate RATE]
                 [--only lanspread,bt] [--small] [--timeline]
  --small: 32 MiB, 3 downloaders; --timeline: each second of each swarm round, what every
  host received and sent (Mbit/s, from its interface counters), and when each one finished
  (for lanspread also when it began committing: its last bytes were in).
Last line: {"single_s":…, "all_done_s":…, "ratio":…, "seed_uploaded_copies":…,
            "bt_single_s":…, "bt_all_done_s":…, "bt_ratio":…, "bt_copies":…,
            "downloaders":…, "size_MiB":…, "failures":…, "failure_reasons":[…]}"""
import argparse
import hashlib
import http.server
import json
import os
import shutil
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402
import transfer  # noqa: E402
from transfer import GID  # noqa: E402

TIMEOUT = 900  # seconds for one round of downloads
BT_PIECE = 1 << 20
TRACKER_PORT = 6969


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(map(bencode, v)) + b"e"
    return b"d" + b"".join(bencode(k) + bencode(v[k]) for k in sorted(v)) + b"e"


def make_torrent(root, files, announce):
    """A multi-file .torrent of the game's payload (`files`, relative paths), as bytes."""
    pieces, buf, entries = [], b"", []
    for rel in files:
        path = os.path.join(root, rel)
        entries.append({"length": os.path.getsize(path), "path": rel.split("/")})
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(BT_PIECE), b""):
                buf += block
                while len(buf) >= BT_PIECE:
                    pieces.append(hashlib.sha1(buf[:BT_PIECE]).digest())
                    buf = buf[BT_PIECE:]
    if buf:
        pieces.append(hashlib.sha1(buf).digest())
    info = {"name": GID, "piece length": BT_PIECE, "pieces": b"".join(pieces),
            "files": entries}
    return bencode({"announce": announce, "info": info})


class Tracker:
    """A BitTorrent HTTP tracker for one torrent, listening inside `host`: every announce
    answers the compact list of the other peers seen so far; `seeding` holds the addresses
    that announced left=0."""

    def __init__(self, host):
        peers, seeding, lock = {}, set(), threading.Lock()
        self.peers, self.seeding = peers, seeding

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query,
                                          encoding="latin-1")
                addr = (self.client_address[0], int(q.get("port", ["0"])[0]))
                with lock:
                    if q.get("event", [""])[0] == "stopped":
                        peers.pop(addr, None)
                    else:
                        peers[addr] = True
                    if q.get("left", ["1"])[0] == "0":
                        seeding.add(addr[0])
                    others = b"".join(bytes(map(int, ip.split("."))) + p.to_bytes(2, "big")
                                      for ip, p in peers if (ip, p) != addr)
                body = bencode({"interval": 2, "min interval": 1, "peers": others})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        sock = host.socket()
        sock.bind((host.ip(), TRACKER_PORT))
        sock.listen(64)
        self.server = http.server.ThreadingHTTPServer(sock.getsockname(), Handler,
                                                      bind_and_activate=False)
        self.server.socket.close()
        self.server.socket = sock
        self.url = f"http://{host.ip()}:{TRACKER_PORT}/announce"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Timeline:
    """Samples every host's interface counters once a second on a thread, from `start`."""

    def __init__(self, hosts, start):
        self.hosts, self.start, self.rows = hosts, start, []
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def counters(self):
        out = []
        for h in self.hosts:
            stats = json.loads(h.run(["ip", "-s", "-j", "link", "show", "dev", "eth0"]).stdout)
            out.append((stats[0]["stats64"]["rx"]["bytes"], stats[0]["stats64"]["tx"]["bytes"]))
        return out

    def run(self):
        prev, t_prev = self.counters(), time.perf_counter()
        while not self.done.wait(1.0):
            cur, t = self.counters(), time.perf_counter()
            dt = t - t_prev
            self.rows.append((t - self.start, [((c[0] - p[0]) * 8 / dt / 1e6,
                                                 (c[1] - p[1]) * 8 / dt / 1e6)
                                                for c, p in zip(cur, prev)]))
            prev, t_prev = cur, t

    def stop(self):
        self.done.set()
        self.thread.join()

    def show(self, took, committing):
        names = [h.name for h in self.hosts]
        print("timeline (Mbit/s received/sent; the first host is the seeder):")
        print("    t  " + " ".join(f"{n:>9}" for n in names))
        for t, rates in self.rows:
            print(f"{t:5.1f}  " + " ".join(f"{int(r):4d}/{int(s):<4d}" for r, s in rates))
        print("finished: " + " ".join(f"{n}={'-' if s is None else round(s, 1)}"
                                      for n, s in zip(names[1:], took)), flush=True)
        if any(c is not None for c in committing):
            print("committing from: " + " ".join(
                f"{n}={'-' if c is None else round(c, 1)}" for n, c in zip(names[1:], committing)),
                flush=True)


class Bench:
    def __init__(self, opts, work):
        self.opts = opts
        self.size = opts.size << 20
        self.work = work
        self.failures = []
        self.lan = harness.Lan()
        rate = opts.rate
        self.seed_host = self.lan.host("seed", rate=rate)
        self.solo_host = self.lan.host("solo", rate=rate)
        self.hosts = [self.lan.host(f"dl{i}", rate=rate) for i in range(opts.downloaders)]
        self.seed_games = work.sub("seed", "games")
        self.files = transfer.make_game(self.seed_games, self.size)

    def fail(self, line):
        print(f"FAILED: {line}", flush=True)
        self.failures.append(line)

    def check_tree(self, name, games):
        """Fails `name` unless its copy of the payload has the seeder's bytes."""
        diffs = harness.tree_differences(os.path.join(self.seed_games, GID, "data"),
                                         os.path.join(games, GID, "data"))
        if diffs:
            self.fail(f"{name}: its copy differs from the seeder's: {'; '.join(diffs[:3])}")

    def round(self, hosts, start_all, wait_one, games_of):
        """Starts every downloader at once and waits for each: (seconds until the last one
        finished or None, bytes the seeder sent)."""
        sent = self.seed_host.tx_bytes()
        start = time.perf_counter()
        handles = start_all()
        took = [None] * len(hosts)

        def wait(i):
            took[i] = wait_one(handles[i], start)

        threads = [threading.Thread(target=wait, args=(i,)) for i in range(len(hosts))]
        for t in threads:
            t.start()
        sampler = Timeline([self.seed_host, *hosts], start) \
            if self.opts.timeline and len(hosts) > 1 else None
        for t in threads:
            t.join()
        if sampler:
            sampler.stop()
            # lanspread's downloads say when they began committing (the last bytes are in).
            sampler.show(took, [h.start_time + h.committing - start
                                if getattr(h, "committing", None) is not None else None
                                for h in handles])
        sent = self.seed_host.tx_bytes() - sent
        for i, h in enumerate(hosts):
            if took[i] is not None:
                self.check_tree(h.name, games_of(i))
        done = [t for t in took if t is not None]
        return (max(done) if len(done) == len(hosts) else None), sent

    def system(self, name):
        """One downloader alone, then all at once: (single_s, all_done_s, bytes the seeder
        sent during the swarm), the times None when a download failed."""
        if name == "lanspread":
            seeder = self.seed_host.serve(self.work, games=self.seed_games)
            run = self.lanspread
        else:
            tracker, seeder, torrent = self.bt_seeder()
            run = lambda hosts, label: self.bt(hosts, label, torrent)  # noqa: E731
        try:
            single, _ = run([self.solo_host], "single")
            swarm, sent = run(self.hosts, "swarm")
            return single, swarm, sent
        finally:
            seeder.stop()
            if name == "bt":
                tracker.close()

    # --- lanspread --------------------------------------------------------------------------
    def lanspread(self, hosts, label):
        daemons = [h.serve(self.work, name=f"{h.name}-{label}") for h in hosts]
        try:
            for d in daemons:
                transfer.wait_offered(d)
            downloads = [transfer.Download(d) for d in daemons]

            def wait_one(dl, start):
                dl.wait(TIMEOUT)
                if dl.failure():
                    self.fail(dl.failure())
                    return None
                return dl.start_time + dl.seconds - start

            return self.round(hosts, lambda: [dl.start() for dl in downloads], wait_one,
                              lambda i: daemons[i].games)
        finally:
            for d in daemons:
                d.stop()
                shutil.rmtree(d.games, ignore_errors=True)

    # --- BitTorrent (aria2c) ----------------------------------------------------------------
    def aria2(self, host, directory, torrent, extra, log):
        return host.spawn(["aria2c", "--dir", directory, "--seed-ratio=0.0",
                           "--enable-dht=false", "--enable-dht6=false", "--bt-enable-lpd=false",
                           "--bt-max-peers=0", "--bt-tracker-interval=2",
                           "--file-allocation=none", "--summary-interval=0",
                           "--console-log-level=warn", "--log", log, "--log-level=notice",
                           *extra, torrent], log=log + ".out", capture=False)

    def bt(self, hosts, label, torrent):
        procs, markers, hooks = [], [], []
        try:
            for h in hosts:
                # aria2c runs the hook when the download is complete, before it seeds on.
                markers.append(self.work.file("bt-logs", f"{h.name}-{label}.done"))
                hooks.append(self.work.file("bt-logs", f"{h.name}-{label}.hook"))
                with open(hooks[-1], "w") as f:
                    f.write(f"#!/bin/sh\ntouch '{markers[-1]}'\n")
                os.chmod(hooks[-1], 0o755)

            def start_all():
                for h, hook in zip(hosts, hooks):
                    procs.append(self.aria2(h, self.work.sub("bt", h.name, label, "games"),
                                            torrent, [f"--on-bt-download-complete={hook}"],
                                            self.work.file("bt-logs", f"{h.name}-{label}.log")))
                return list(zip(markers, procs))

            def wait_one(handle, start):
                marker, proc = handle
                if harness.wait_until(lambda: os.path.exists(marker) or not proc.running(),
                                      TIMEOUT, interval=0.02) and os.path.exists(marker):
                    return time.perf_counter() - start
                try:
                    with open(marker[:-5] + ".log", errors="replace") as f:
                        errors = [line.strip() for line in f if "ERROR" in line][-2:]
                except OSError:
                    errors = ["(no log)"]
                self.fail(f"aria2c for {os.path.basename(marker)[:-5]}: "
                          f"{'exited' if not proc.running() else 'not complete'} after "
                          f"{time.perf_counter() - start:.0f} s: {' '.join(errors)}")
                return None

            return self.round(hosts, start_all, wait_one,
                              lambda i: self.work.sub("bt", hosts[i].name, label, "games"))
        finally:
            for p in procs:
                p.stop()
            shutil.rmtree(os.path.join(self.work.path, "bt"), ignore_errors=True)

    def bt_seeder(self):
        tracker = Tracker(self.seed_host)
        torrent = self.work.file("game.torrent")
        with open(torrent, "wb") as f:
            f.write(make_torrent(os.path.join(self.seed_games, GID), self.files, tracker.url))
        seeder = self.aria2(self.seed_host, self.seed_games, torrent,
                            ["--check-integrity=true"], self.work.file("bt-seed.log"))
        if not harness.wait_until(lambda: self.seed_host.ip() in tracker.seeding, 120):
            self.fail("the aria2c seeder never announced itself as a seed")
        return tracker, seeder, torrent


def main():
    _, rest = harness.parse_args()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--downloaders", type=int, default=8)
    ap.add_argument("--size", type=int, default=256, help="MiB")
    ap.add_argument("--rate", default="100mbit")
    ap.add_argument("--only", default="lanspread,bt")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--timeline", action="store_true")
    opts = ap.parse_args(rest)
    if opts.small:
        opts.size, opts.downloaders = 32, 3
    harness.require_root()
    work = harness.Workdir("swarm-bench", parent=os.environ.get("TMPDIR", "/var/tmp"))
    out = {}
    bench = None
    try:
        bench = Bench(opts, work)
        n, size = opts.downloaders, bench.size
        print(f"game: {opts.size} MiB in {len(bench.files)} files; links: tc tbf {opts.rate}; "
              f"{n} downloaders", flush=True)
        for system, key in (("lanspread", ""), ("bt", "bt_")):
            if system not in opts.only.split(","):
                continue
            try:
                single, swarm, sent = bench.system(system)
            except (RuntimeError, OSError) as e:  # DaemonError and TimeoutError too
                bench.fail(f"{system}: {e}")
                continue
            print(f"{system}: one downloader {single and round(single, 2)} s; {n} at once: "
                  f"the last after {swarm and round(swarm, 2)} s; the seeder sent "
                  f"{sent / size:.2f} copies", flush=True)
            out[f"{key}single_s"] = single and round(single, 2)
            out[f"{key}all_done_s"] = swarm and round(swarm, 2)
            out[f"{key}ratio"] = single and swarm and round(swarm / single, 3)
            out["seed_uploaded_copies" if system == "lanspread" else "bt_copies"] = \
                round(sent / size, 2)
    finally:
        failures = bench.failures if bench else ["the benchmark did not start"]
        work.keep = bool(failures)  # keep the logs of a failed run
        harness.undo_all()
    out.update(downloaders=opts.downloaders, size_MiB=opts.size, failures=len(failures),
               failure_reasons=failures)
    print(json.dumps(out))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
