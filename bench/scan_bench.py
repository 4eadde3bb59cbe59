#!/usr/bin/python3
"""Scan benchmark: generates a library, times a cold scan (hashing every chunk, no index) and
a warm rescan (index present), and in the same run `openssl dgst -sha256` over the same
files with the same number of parallel workers. Medians of several runs after a warm-up.
  scan_bench.py --tool <lanspread binary> [--small]   --small: a tiny library (smoke test)
Last line: {"hash_MBps":…, "openssl_MBps":…, "hash_ratio":…, "cold_s":…, "warm_s":…,
            "warm_over_cold":…}"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))
import harness  # noqa: E402


def generate(games, catalog, n_games, per_game, big_mib, small_kib):
    block = os.urandom(1 << 20)
    with open(catalog, "w") as cat:
        for g in range(n_games):
            gid = f"game{g:03d}"
            cat.write(f"[{gid}]\nname = Game {g}\n")
            files = {"data/big.pak": b"".join(block[i % 997:] + block[:i % 997]  # distinct
                                              for i in range(big_mib))}
            for i in range(per_game - 2):
                off = (g * per_game + i) % ((1 << 20) - small_kib * 1024)
                files[f"data/f{i:04d}.dat"] = block[off:off + small_kib * 1024]
            harness.make_game(games, gid, "1", files)


def seconds(argv):
    start = time.perf_counter()
    harness.run(argv, timeout=1800)
    return time.perf_counter() - start


def main():
    _, rest = harness.parse_args()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true")
    opts = ap.parse_args(rest)
    n_games, per_game, big_mib, small_kib, runs = (3, 20, 9, 4, 1) if opts.small else \
        (100, 200, 32, 48, 3)
    threads = os.cpu_count()
    tool = harness.tool()
    work = harness.Workdir("scan-bench", parent=os.environ.get("TMPDIR", "/var/tmp"))
    try:
        games, catalog = work.sub("games"), work.file("catalog.ini")
        generate(games, catalog, n_games, per_game, big_mib, small_kib)
        sizes = [os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(games) for f in fs]
        total_bytes, file_count = sum(sizes), len(sizes)
        openssl_all = ["sh", "-c", f"find '{games}' -type f ! -name '.lanspread*' -print0 | "
                       f"xargs -0 -P {threads} -n 256 openssl dgst -sha256 >/dev/null"]
        # Timed runs print the human table: printing every manifest as JSON would time the
        # printer.
        scan = [tool, "scan", "--games", games, "--catalog", catalog, "--threads", str(threads)]
        drop_index = ["find", games, "-name", ".lanspread.index", "-delete"]

        def cold():
            harness.run(drop_index)
            return seconds(scan)

        # Warm-up: first touches of memory and page cache cost much more on these machines.
        seconds(openssl_all)
        cold()
        o, c, w = [], [], []
        for _ in range(runs):
            o.append(seconds(openssl_all))
            c.append(cold())
            w.append(seconds(scan))
        openssl_s, cold_s, warm_s = map(statistics.median, (o, c, w))

        # Sanity: the scan must have produced a manifest for every game.
        doc = json.loads(harness.run(scan[:-2] + ["--json"], timeout=1800).stdout)
        manifests = sum(1 for g in doc["games"] if g["manifest"])
        if manifests != n_games:
            sys.exit(f"scan produced {manifests} manifests, expected {n_games}")
    finally:
        work.close()

    fmt = lambda xs: " ".join(f"{x:.4f}" for x in xs)  # noqa: E731
    print(f"library: {n_games} games, {file_count} files, {total_bytes} bytes; {threads} "
          f"workers; runs: {runs}")
    print(f"openssl dgst: {fmt(o)} s; cold scan: {fmt(c)} s; warm scan: {fmt(w)} s")
    t = total_bytes / 1e6
    print(json.dumps({"hash_MBps": round(t / cold_s, 1), "openssl_MBps": round(t / openssl_s, 1),
                      "hash_ratio": round(openssl_s / cold_s, 3), "cold_s": round(cold_s, 3),
                      "warm_s": round(warm_s, 3), "warm_over_cold": round(warm_s / cold_s, 4)}))


if __name__ == "__main__":
    main()
