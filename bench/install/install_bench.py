#!/usr/bin/python3
"""Install benchmark: the LibarchiveUnpacker against `bsdtar -xf` on the same archives.

Generates a game-like tree (many files, partly compressible), packs it as zip (deflate) and
7z (LZMA2) with bsdtar, then extracts each archive with both tools: one warm-up run each,
then --runs timed runs alternating between the tools; the median counts. Throughput is
uncompressed bytes per second. The last line is one JSON object:
{"ours_MBps": ..., "bsdtar_MBps": ..., "ratio": ...} over both formats together.
  install_bench.py --tool install_bench_unpack=PATH [--size-mb N --files N --runs N ...]

The scratch directory defaults to /dev/shm when it has room: both tools then write to the
same RAM-backed filesystem, so the comparison measures the unpackers rather than the noise of
a shared disk. Pass --workdir to measure on a disk.
"""
import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
import harness  # noqa: E402


def generate_tree(root, total_bytes, files):
    rng = random.Random(42)
    per_file = max(1, total_bytes // files)
    noise = os.urandom(1 << 20)
    text = (b"level geometry texture sound script " * 4096)[: 1 << 20]
    written = 0
    for i in range(files):
        sub = os.path.join(root, "game", "data%02d" % (i % 40), "pack%03d" % (i % 7))
        os.makedirs(sub, exist_ok=True)
        size = per_file if i < files - 1 else max(1, total_bytes - written)
        # Half random (compressed assets), half text (configs, scripts): about 2:1 overall.
        out = bytearray()
        while len(out) < size:
            src = noise if rng.random() < 0.5 else text
            off = rng.randrange(0, len(src) - 65536)
            out += src[off: off + 65536]
        with open(os.path.join(sub, "file%05d.bin" % i), "wb") as f:
            f.write(out[:size])
        written += size
    return written


def pack(src, archive, fmt):
    opts = {"zip": ["--format", "zip"],
            "7z": ["--format", "7zip", "--options", "7zip:compression=lzma2,7zip:compression-level=1"]}
    harness.run(["bsdtar", "-cf", archive] + opts[fmt] + ["-C", src, "game"], timeout=1800)


def timed(cmd, dest):
    shutil.rmtree(dest, ignore_errors=True)
    os.makedirs(dest)
    start = time.perf_counter()
    harness.run(cmd, timeout=1800)
    elapsed = time.perf_counter() - start
    shutil.rmtree(dest, ignore_errors=True)
    return elapsed


def main():
    _, rest = harness.parse_args()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--size-mb", type=int, default=1024)
    ap.add_argument("--files", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--formats", default="zip,7z")
    ap.add_argument("--workdir", default=None, help="scratch dir (default: a temp dir)")
    args = ap.parse_args(rest)
    unpacker = harness.tool("install_bench_unpack")

    workdir = args.workdir
    if workdir is None and os.path.isdir("/dev/shm"):
        st = os.statvfs("/dev/shm")
        if st.f_bavail * st.f_frsize > 3 * (args.size_mb << 20):
            workdir = "/dev/shm"
    scratch = harness.Workdir("install-bench", parent=workdir)
    work = scratch.path
    try:
        src = os.path.join(work, "src")
        total = generate_tree(src, args.size_mb << 20, args.files)
        dest = os.path.join(work, "out")
        ours_s = bsdtar_s = 0.0
        bytes_all = 0
        for fmt in args.formats.split(","):
            archive = os.path.join(work, "game." + fmt)
            pack(src, archive, fmt)
            tools = {"ours": [unpacker, archive, dest],
                     "bsdtar": ["bsdtar", "-xf", archive, "-C", dest]}
            for cmd in tools.values():
                timed(cmd, dest)  # warm-up: page cache, allocator, first-run effects
            times = {"ours": [], "bsdtar": []}
            for _ in range(args.runs):
                for name, cmd in tools.items():
                    times[name].append(timed(cmd, dest))
            med = {k: statistics.median(v) for k, v in times.items()}
            print("%s in %s: archive %.1f MiB, %d MiB in %d files; ours %.3fs (%.1f MB/s), "
                  "bsdtar %.3fs (%.1f MB/s)" % (
                      fmt, work, os.path.getsize(archive) / 2**20, total >> 20, args.files,
                      med["ours"], total / med["ours"] / 1e6,
                      med["bsdtar"], total / med["bsdtar"] / 1e6), flush=True)
            ours_s += med["ours"]
            bsdtar_s += med["bsdtar"]
            bytes_all += total
            os.remove(archive)
        ours = bytes_all / ours_s / 1e6
        bsd = bytes_all / bsdtar_s / 1e6
        print(json.dumps({"ours_MBps": round(ours, 1), "bsdtar_MBps": round(bsd, 1),
                          "ratio": round(ours / bsd, 3)}))
    finally:
        scratch.close()


if __name__ == "__main__":
    sys.exit(main())
