#!/usr/bin/python3
"""Update benchmark: the time and the network bytes of a delta update, against a full download
of the same game, between two daemons on hosts in network namespaces joined by a 1 Gbit/s
`tc tbf` link.

The seeder publishes a game of --size-mib MiB in 8 files. The downloader fetches it whole (the
baseline), then the seeder publishes, --runs times, a version in which --delta-percent of the
chunks (of the scan's chunk size, spread over the files) are rewritten in place, and the
downloader updates to it. Timed: from the request to the end of the download (checking,
fetching, the commit), not the install that follows. Medians of the updates.
  update_bench.py --tool <lanspread binary> [--size-mib N] [--delta-percent N] [--runs N]
                  [--small]    --small: 32 MiB, one update (smoke test)
Last line: {"full_s":…, "full_fetched":…, "update_s":…, "update_fetched":…, "update_reused":…,
            "delta_bytes":…, "time_ratio":…, "bytes_ratio":…}"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402

GID = "openarena"
FILES = 8
ENDS = ("operation_finished", "operation_failed", "operation_cancelled")


def entry(body):
    return next((g for g in body.get("games", []) if g["id"] == GID), {})


def publish_first(root, size):
    per_file = size // FILES
    for i in range(FILES):
        harness.write_file(os.path.join(root, "data", f"pak{i}.pk3"), os.urandom(per_file))
    harness.write_file(os.path.join(root, "version.ini"), "1\n")


def publish_delta(root, size, version, chunks):
    """Rewrites 64 KiB inside each of `chunks` chunks (spread over the game), then version.ini."""
    per_file = size // FILES
    total = size // harness.CHUNK
    for k in range(chunks):
        c = (k * total // chunks + version) % total
        offset = c * harness.CHUNK
        with open(os.path.join(root, "data", f"pak{offset // per_file}.pk3"), "r+b") as f:
            f.seek(offset % per_file + 4096)
            f.write(os.urandom(64 << 10))
    harness.write_file(os.path.join(root, "version.ini"), f"{version}\n")


def fetch(daemon, action, version):
    """Requests the download or update of `version` and waits for its end and the install."""
    daemon.api.wait_until(lambda b: entry(b).get("latest_version") == str(version)
                          and entry(b).get("latest_peers"), 60, path="/api/v1/games")
    events = daemon.api.event_stream(since=daemon.api.json("/api/v1/status")["event_seq"] + 1)
    start = time.perf_counter()
    if not daemon.api.post(f"/api/v1/games/{GID}/{action}").body.get("accepted"):
        sys.exit(f"{action} of version {version} was refused")
    end = events.next(lambda e: e["type"] in ENDS and e["data"]["kind"] == "download", 600)
    seconds = time.perf_counter() - start
    if not end or end["type"] != "operation_finished":
        sys.exit(f"{action} of version {version} did not finish: {end}")
    installed = events.next(lambda e: e["type"] in ENDS and e["data"]["kind"] in
                            ("install", "update"), 600)
    if not installed or installed["type"] != "operation_finished":
        sys.exit(f"the install of version {version} did not finish: {installed}")
    return seconds, end["data"]["bytes_fetched"], end["data"]["bytes_reused"]


def main():
    _, rest = harness.parse_args()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--delta-percent", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--small", action="store_true")
    opts = ap.parse_args(rest)
    size_mib, runs = (32, 1) if opts.small else (opts.size_mib, opts.runs)
    size = size_mib << 20
    chunks = max(1, round(size // harness.CHUNK * opts.delta_percent / 100))
    work = harness.Workdir("update-bench", parent=os.environ.get("TMPDIR", "/var/tmp"))
    lan = harness.Lan()
    daemons = []
    try:
        seed_host, dl_host = lan.host("seed", rate="1gbit"), lan.host("dl", rate="1gbit")
        seed_games = work.sub("seed", "games")
        publish_first(os.path.join(seed_games, GID), size)
        daemons.append(seed_host.serve(work, games=seed_games))
        dl = dl_host.serve(work)
        daemons.append(dl)
        print(f"game: {size_mib} MiB in {FILES} files; update: {chunks} of "
              f"{size // harness.CHUNK} chunks changed; link: tc tbf 1 Gbit/s", flush=True)
        full = fetch(dl, "download", 1)
        print(f"full download: {full[0]:.2f} s, {full[1]} bytes fetched", flush=True)
        updates = []
        for run in range(runs):
            version = run + 2
            publish_delta(os.path.join(seed_games, GID), size, version, chunks)
            updates.append(fetch(dl, "update", version))
            print(f"update to {version}: {updates[-1][0]:.2f} s, {updates[-1][1]} bytes fetched, "
                  f"{updates[-1][2]} reused", flush=True)
        update_s = statistics.median(u[0] for u in updates)
        fetched = statistics.median(u[1] for u in updates)
        print(json.dumps({
            "full_s": round(full[0], 3), "full_fetched": full[1], "update_s": round(update_s, 3),
            "update_fetched": fetched,
            "update_reused": statistics.median(u[2] for u in updates),
            "delta_bytes": chunks * harness.CHUNK,
            "time_ratio": round(update_s / full[0], 3),
            "bytes_ratio": round(fetched / max(full[1], 1), 3)}))
    finally:
        for d in daemons:
            d.stop()
        lan.close()
        work.close()


if __name__ == "__main__":
    sys.exit(main())
