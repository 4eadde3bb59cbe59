#!/usr/bin/python3
"""Download benchmark: what a user waits for when one `lanspread serve` daemon downloads a game
from others, on hosts in network namespaces, against HTTPS of the same bytes on the same link
in the same run (nginx, TLS 1.3 AES-128-GCM, self-signed; curl fetching every file of the
game over one connection into the downloader's games filesystem, then fsync of the files,
since the daemon syncs before it reports the end; `https_nosync_*`: curl alone). A
lanspread download is timed from `POST /api/v1/games/openarena/download` to its
`operation_finished` event; the install the daemon starts afterwards is cancelled and not
timed. Parts (--only):
  single  one seeder -> one downloader, a --size MiB game (2048) on a bare veth link
  1g      the same over a 1 Gbit/s `tc tbf` link: achieved / line rate
  multi   three seeders at 200, 100 and 25 Mbit/s -> one downloader, --multi-size MiB (512),
          --runs runs (3): achieved / the sum of the seeders' rates, each run and the minimum
  rss     the downloader's peak RSS (VmHWM) after downloading a --rss-size MiB game (4096)
  small   many small files: --small-count files of --small-kib KiB (10000 of 16) against the
          same bytes in one file, one seeder -> one downloader over a 1 Gbit/s link, beside
          HTTPS of the small files (curl, one request after another on one connection);
          starts with a sync and a minute's pause (see small_part)
Every download must finish: failures are counted, with their reasons, in the JSON, and the
exit status is 1. Needs root and about 3 x the largest game of free disk under $TMPDIR
(default /var/tmp).
  download_bench.py --tool <lanspread binary> [--only single,1g,multi,rss] [--size MiB]
                    [--multi-size MiB] [--rss-size MiB] [--runs N] [--small]
                    [--small-count N] [--small-kib KiB]
                    [--timeline FILE] [--no-https]
  --small: 64 MiB games, one multi run, 1000 small files (smoke test)
  --timeline: each download sampled every 50 ms (bytes received, dirty page cache, CPU);
  a summary line per download (start until the first MiB, transfer, tail after the last
  MiB until the end event, received MB per second) and the samples appended to FILE
Last line: {"single_MBps":…, "https_MBps":…, "https_nosync_MBps":…, "ratio":…,
            "single_1g_fraction":…, "https_1g_fraction":…, "https_1g_nosync_fraction":…,
            "multi_fraction_of_sum":…, "multi_fractions":[…],
            "peak_rss_MiB":…, "small_files_MBps":…, "small_one_file_MBps":…,
            "small_files_fraction":…, "https_small_MBps":…, "failures":…,
            "failure_reasons":[…]}"""
import argparse
import json
import os
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402
import nginx  # noqa: E402
import transfer  # noqa: E402
from transfer import GID  # noqa: E402

PARTS = ("single", "1g", "multi", "rss", "small")
MULTI_RATES = (200, 100, 25)  # Mbit/s of the three seeders
TIMEOUT = 900  # seconds for one download
SETTLE = 61  # seconds: see small_part


class Timeline:
    """Samples, every 50 ms while a download runs: bytes received on the downloader's link
    (its namespace's counters, read through the daemon's /proc entry), the machine's dirty
    and writeback page cache, the daemon's CPU seconds. summary() splits the download into
    start (until the first MiB arrived), transfer (until all but the last MiB arrived) and
    tail (until the end event)."""

    def __init__(self, pid, start):
        self.pid, self.start, self.rows = pid, start, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _rx(self):
        with open(f"/proc/{self.pid}/net/dev") as f:
            for line in f:
                name, _, rest = line.partition(":")
                if name.strip() == "eth0":
                    return int(rest.split()[0])
        return 0

    @staticmethod
    def _meminfo():
        out = {}
        with open("/proc/meminfo") as f:
            for line in f:
                k, v = line.split(":")
                if k in ("Dirty", "Writeback"):
                    out[k] = int(v.split()[0]) >> 10  # MiB
        return out["Dirty"], out["Writeback"]

    def _run(self):
        rx0 = self._rx()
        while not self._stop.is_set():
            try:
                self.rows.append((time.perf_counter() - self.start, self._rx() - rx0,
                                  *self._meminfo(), harness.cpu_seconds(self.pid)))
            except OSError:
                return
            self._stop.wait(0.05)

    def stop(self):
        self._stop.set()
        self._thread.join()

    def summary(self, size, seconds):
        rows = self.rows
        if not rows or not seconds:
            return {}
        total = rows[-1][1]
        first = next((r[0] for r in rows if r[1] >= 1 << 20), None)
        last = next((r[0] for r in rows if r[1] >= total - (1 << 20)), None)
        per_s, t, i = [], 1.0, 0
        prev = 0
        while t <= rows[-1][0] + 1e-9:
            while i + 1 < len(rows) and rows[i + 1][0] <= t:
                i += 1
            per_s.append(round((rows[i][1] - prev) / 1e6))
            prev, t = rows[i][1], t + 1
        return {"start_s": first and round(first, 2),
                "transfer_s": first and last and round(last - first, 2),
                "transfer_MBps": first and last and last > first
                and round(size / (last - first) / 1e6, 1),
                "tail_s": last and round(seconds - last, 2),
                "rx_overhead": round(total / size - 1, 4),
                "max_dirty_MiB": max(r[2] for r in rows),
                "dirty_at_last_byte_MiB": next((r[2] + r[3] for r in rows if r[0] >= last), None)
                if last else None,
                "cpu_s": round(rows[-1][4] - rows[0][4], 2),
                "MB_per_s": per_s}


class Bench:
    def __init__(self, work, timeline=None):
        self.work = work
        self.failures = []
        self.timeline = timeline  # file to append one JSON line per download to, or None
        self.https = True  # False: single and 1g skip the HTTPS baseline (figures null)

    def fail(self, line):
        print(f"FAILED: {line}", flush=True)
        self.failures.append(line)

    def download(self, host, name, size, peers=1, timeout=TIMEOUT, keep=None):
        """A fresh daemon on `host` downloads the game once it sees `peers` seeders:
        (seconds, peak RSS bytes), or (None, None) when it failed. Its games are deleted
        afterwards, its log kept; with a list `keep`, its games dir is appended to it
        instead, for the caller to delete."""
        d = host.serve(self.work, name=name)
        try:
            transfer.wait_offered(d, peers)
            dl = transfer.Download(d)
            tl = Timeline(d.pid, time.perf_counter()) if self.timeline else None
            dl.start()
            if tl:
                tl.start = dl.start_time
            seconds, _ = dl.wait(timeout)
            if tl:
                tl.stop()
                line = {"name": name, "seconds": seconds and round(seconds, 2),
                        **tl.summary(size, seconds)}
                print(f"timeline: {json.dumps(line)}", flush=True)
                with open(self.timeline, "a") as f:
                    f.write(json.dumps({**line, "rows": tl.rows}) + "\n")
            peak = harness.peak_rss_bytes(d.pid)
            failure = dl.failure()
            if failure is None:
                got = transfer.dir_size(os.path.join(d.games, GID, "data"))
                if got != size:
                    failure = f"{name}: finished with {got} of {size} payload bytes on disk"
            if failure:
                self.fail(failure)
                return None, None
            dl.stop_install()
            return seconds, peak
        except (RuntimeError, harness.DaemonError) as e:
            self.fail(f"{name}: {e}")
            return None, None
        finally:
            d.stop()
            if keep is None:
                shutil.rmtree(d.games, ignore_errors=True)
            else:
                keep.append(d.games)


class Https:
    """nginx on the seeder's host serving its games dir; curl on the downloader's host."""

    def __init__(self, bench, server, root):
        # nginx's workers run as nobody: the path to the game must be readable.
        for p in (bench.work.path, os.path.dirname(root), root):
            os.chmod(p, 0o755)
        self.bench = bench
        self.proc, base = nginx.start(server, bench.work.sub("nginx"), root)
        self.base = f"{base}{GID}/"

    def fetch(self, client, files, into, size, keep=False):
        """(seconds to fetch `files` over one connection into `into` and fsync them, seconds
        of curl alone), or (None, None) when bytes are missing. `into` is deleted afterwards
        unless `keep`."""
        # The URLs go in a config file: thousands of them do not fit on a command line.
        config = os.path.join(self.bench.work.path, "curl.conf")
        with open(config, "w") as f:
            for rel in files:
                f.write(f'url = "{self.base + rel}"\noutput = "{os.path.join(into, rel)}"\n')
        argv = [*nginx.CURL, "--create-dirs", "-w", "%{size_download}\\n", "-K", config]
        start = time.perf_counter()
        out = client.run(argv, check=False, timeout=TIMEOUT)
        curl_seconds = time.perf_counter() - start
        for rel in files:
            fd = os.open(os.path.join(into, rel), os.O_RDONLY)
            os.fsync(fd)
            os.close(fd)
        seconds = time.perf_counter() - start
        got = sum(int(n) for n in out.stdout.split())
        if not keep:
            shutil.rmtree(into, ignore_errors=True)
        if out.returncode != 0 or got != size:
            return None, None
        return seconds, curl_seconds

    def ready(self, client, files):
        return harness.wait_until(lambda: client.run(
            ["curl", "-sk", "-o", "/dev/null", "-r", "0-0", self.base + files[0]],
            check=False, timeout=10).returncode == 0, 10)


def mbps(size, seconds):
    return size / seconds / 1e6 if seconds else None


def single_parts(bench, parts, size, out):
    """single and 1g: one seeder, one downloader, lanspread beside HTTPS."""
    lan = harness.Lan()
    try:
        seed_host, dl_host = lan.host("seed"), lan.host("dl")
        seed_games = bench.work.sub("seed", "games")
        files = transfer.make_game(seed_games, size)
        seeder = seed_host.serve(bench.work, games=seed_games)
        https = Https(bench, seed_host, seed_games)
        if not https.ready(dl_host, files):
            bench.fail("nginx did not answer")
            return
        into = os.path.join(bench.work.path, "dl-https")
        for part, rate in (("single", None), ("1g", "1gbit")):
            if part not in parts:
                continue
            seed_host.set_rate(rate)
            dl_host.set_rate(rate)
            link = f"tc tbf {rate}" if rate else "veth, no limit"
            h, curl_only = https.fetch(dl_host, files, into, size) if bench.https else (None, None)
            if h is None and bench.https:
                bench.fail(f"https ({link}) did not deliver {size} bytes")
            s, _ = bench.download(dl_host, f"dl-{part}", size)
            print(f"{part}: {size >> 20} MiB, {link}: lanspread {s and round(s, 2)} s "
                  f"({mbps(size, s) and round(mbps(size, s), 1)} MB/s), https "
                  f"{h and round(h, 2)} s ({mbps(size, h) and round(mbps(size, h), 1)} MB/s; "
                  f"curl alone, before the fsync: {curl_only and round(curl_only, 2)} s)",
                  flush=True)
            if part == "single":
                out["single_MBps"] = s and round(mbps(size, s), 1)
                out["https_MBps"] = h and round(mbps(size, h), 1)
                out["https_nosync_MBps"] = curl_only and round(mbps(size, curl_only), 1)
                out["ratio"] = s and h and round(h / s, 3)
            else:
                line = 1e9 / 8
                out["single_1g_fraction"] = s and round(size / s / line, 3)
                out["https_1g_fraction"] = h and round(size / h / line, 3)
                out["https_1g_nosync_fraction"] = curl_only and round(size / curl_only / line, 3)
        seeder.stop()
    finally:
        lan.close()
        shutil.rmtree(bench.work.path + "/seed", ignore_errors=True)


def multi_part(bench, size, runs, out):
    """Three seeders of different speeds, one downloader: the fraction of their sum."""
    lan = harness.Lan()
    try:
        first = bench.work.sub("seed0", "games")
        transfer.make_game(first, size)
        seeders = []
        for i, rate in enumerate(MULTI_RATES):
            games = bench.work.sub(f"seed{i}", "games")
            if i:
                transfer.link_game(first, games)
            seeders.append(lan.host(f"seed{i}", rate=f"{rate}mbit").serve(
                bench.work, games=games))
        dl_host = lan.host("dl")
        line = sum(MULTI_RATES) * 1e6 / 8
        fractions = []
        for run in range(runs):
            s, _ = bench.download(dl_host, f"dl-multi{run}", size, peers=len(MULTI_RATES))
            fraction = s and round(size / s / line, 3)
            print(f"multi run {run + 1}: {size >> 20} MiB from seeders at "
                  f"{'/'.join(map(str, MULTI_RATES))} Mbit/s: {s and round(s, 2)} s, "
                  f"{fraction} of their sum", flush=True)
            fractions.append(fraction)
        out["multi_fractions"] = fractions
        out["multi_fraction_of_sum"] = min((f for f in fractions if f), default=None)
        for s in seeders:
            s.stop()
    finally:
        lan.close()
        for i in range(len(MULTI_RATES)):
            shutil.rmtree(os.path.join(bench.work.path, f"seed{i}"), ignore_errors=True)


def rss_part(bench, size, out):
    lan = harness.Lan()
    try:
        seed_games = bench.work.sub("seed", "games")
        transfer.make_game(seed_games, size)
        seeder = lan.host("seed").serve(bench.work, games=seed_games)
        s, peak = bench.download(lan.host("dl"), "dl-rss", size)
        print(f"rss: {size >> 20} MiB in {s and round(s, 2)} s; downloader's peak RSS "
              f"{peak and round(peak / 2**20, 1)} MiB; seeder's "
              f"{round(harness.peak_rss_bytes(seeder.pid) / 2**20, 1)} MiB", flush=True)
        out["peak_rss_MiB"] = peak and round(peak / 2**20, 1)
        seeder.stop()
    finally:
        lan.close()
        shutil.rmtree(bench.work.path + "/seed", ignore_errors=True)


def small_part(bench, count, size, out, settle=SETTLE):
    """Many small files against the same bytes in one file, over a 1 Gbit/s link: what the
    per-file cost takes from the line. On ext4 without a journal, creating a file skips, one
    by one, every inode freed in the last minute (five more while its inode table is not
    written back), which charges earlier deletions to whoever creates files next: so the part
    syncs and waits `settle` seconds first, and deletes nothing until its end."""
    os.sync()
    time.sleep(settle)
    lan = harness.Lan()
    total = count * size
    downloaded = []
    try:
        seed_host, dl_host = lan.host("seed", rate="1gbit"), lan.host("dl", rate="1gbit")
        one_games = bench.work.sub("seed-one", "games")
        transfer.make_game(one_games, total)
        small_games = bench.work.sub("seed-small", "games")
        files = transfer.make_small_game(small_games, count, size)
        os.sync()  # the seeders' files are not the downloads' to flush
        took = {}
        for name, games in (("small", small_games), ("one", one_games)):
            seeder = seed_host.serve(bench.work, games=games, name=f"seed-{name}")
            took[name], _ = bench.download(dl_host, f"dl-{name}", total, keep=downloaded)
            seeder.stop()
        https = Https(bench, seed_host, small_games)
        into = os.path.join(bench.work.path, "dl-https")
        h = None
        if https.ready(dl_host, files):
            h, _ = https.fetch(dl_host, files, into, total, keep=True)
        if h is None:
            bench.fail(f"https did not deliver {count} small files")
        downloaded.append(into)
        one, small = took["one"], took["small"]
        print(f"small: {count} files of {size >> 10} KiB ({total / 2**20:.1f} MiB), 1 Gbit/s: "
              f"lanspread {small and round(small, 2)} s, the same bytes in one file "
              f"{one and round(one, 2)} s, https {h and round(h, 2)} s", flush=True)
        out["small_files_MBps"] = small and round(mbps(total, small), 1)
        out["small_one_file_MBps"] = one and round(mbps(total, one), 1)
        out["small_files_fraction"] = small and one and round(one / small, 3)
        out["https_small_MBps"] = h and round(mbps(total, h), 1)
    finally:
        lan.close()
        for d in downloaded:
            shutil.rmtree(d, ignore_errors=True)
        for d in ("seed-one", "seed-small"):
            shutil.rmtree(os.path.join(bench.work.path, d), ignore_errors=True)


def main():
    _, rest = harness.parse_args()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--only", default=",".join(PARTS),
                    help="comma-separated parts: " + ",".join(PARTS))
    ap.add_argument("--size", type=int, default=2048, help="MiB, single and 1g")
    ap.add_argument("--multi-size", type=int, default=512, help="MiB")
    ap.add_argument("--rss-size", type=int, default=4096, help="MiB")
    ap.add_argument("--runs", type=int, default=3, help="multi runs")
    ap.add_argument("--small", action="store_true")
    ap.add_argument("--small-count", type=int, default=10000, help="files, small")
    ap.add_argument("--small-kib", type=int, default=16, help="KiB per file, small")
    ap.add_argument("--timeline", metavar="FILE",
                    help="sample each download (bytes received, dirty pages, CPU) every 50 ms; "
                         "print a summary line and append the samples to FILE")
    ap.add_argument("--no-https", action="store_true",
                    help="single and 1g without the HTTPS baseline (its figures are null)")
    opts = ap.parse_args(rest)
    parts = opts.only.split(",")
    if set(parts) - set(PARTS):
        sys.exit(f"unknown parts: {','.join(set(parts) - set(PARTS))}")
    if opts.small:
        opts.size = opts.multi_size = opts.rss_size = 64
        opts.runs = 1
        opts.small_count = 1000
    harness.require_root()
    bench = Bench(harness.Workdir("download-bench",
                                  parent=os.environ.get("TMPDIR", "/var/tmp")),
                  timeline=opts.timeline and os.path.abspath(opts.timeline))
    bench.https = not opts.no_https
    out = {}
    runs = [(("single", "1g"), lambda: single_parts(bench, parts, opts.size << 20, out)),
            (("multi",), lambda: multi_part(bench, opts.multi_size << 20, opts.runs, out)),
            (("rss",), lambda: rss_part(bench, opts.rss_size << 20, out)),
            (("small",), lambda: small_part(bench, opts.small_count, opts.small_kib << 10, out,
                                            settle=0 if opts.small else SETTLE))]
    try:
        for names, run in runs:
            if set(names) & set(parts):
                try:
                    run()
                except (RuntimeError, OSError) as e:  # DaemonError and TimeoutError too
                    bench.fail(f"{'/'.join(names)}: {e}")
    finally:
        bench.work.keep = bool(bench.failures)  # keep the logs of a failed run
        harness.undo_all()
    out["failures"] = len(bench.failures)
    out["failure_reasons"] = bench.failures
    print(json.dumps(out))
    return 1 if bench.failures else 0


if __name__ == "__main__":
    sys.exit(main())
