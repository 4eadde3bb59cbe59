#!/usr/bin/python3
"""Transport benchmark: two hosts (network namespaces) on one bridge, MTU 1500. In the same
run it moves SIZE bytes over one QUIC stream (quic_bench) and over HTTPS (nginx with TLS 1.3
AES-128-GCM, fetched by curl), first on the bare link, then through a 1 Gbit/s `tc tbf`
limit. Warm-up first, then the median of RUNS runs. Needs root.
  transport_bench.py --tool quic_bench=PATH [--small]   --small: 64 MiB, one run
Last line: {"quic_MBps":…, "https_MBps":…, "ratio":…, "quic_1g_fraction":…,
            "https_1g_fraction":…, "quic_cpu_s_per_GB":…}"""
import argparse
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(HERE, "..", "..", "tests"), os.path.join(HERE, "..")]
import harness  # noqa: E402
import nginx  # noqa: E402


class Bench:
    def __init__(self, size, work):
        self.size = size
        lan = harness.Lan()
        self.client, self.server = lan.host("client"), lan.host("server")
        self.ip = self.server.ip()
        # HTTPS baseline: nginx serving SIZE bytes from memory (/dev/shm).
        self.work = work
        os.chmod(work, 0o755)
        with open(os.path.join(work, "blob"), "wb") as f:
            f.truncate(size)
        os.chmod(os.path.join(work, "blob"), 0o644)
        _, self.base = nginx.start(self.server, work, work)
        self.quic = self.server.spawn([harness.tool("quic_bench"), "serve", "--bind",
                                       f"{self.ip}:4433"], log=f"{work}/quic.log")
        ready = self.quic.wait_for(lambda o: o.get("text", "").startswith("READY"), 10)
        if not ready:
            sys.exit(f"quic server did not start: {''.join(self.quic.stderr)}")
        self.peer_id = ready[1]["text"].split()[1]
        if not harness.wait_until(lambda: self.client.run(
                [*nginx.CURL, "-o", "/dev/null", self.base], check=False,
                timeout=10).returncode == 0, 10):
            sys.exit("nginx did not start")

    def quic_once(self):
        """(seconds, CPU seconds of both ends)."""
        before = harness.cpu_seconds(self.quic.pid)
        out = self.client.run([harness.tool("quic_bench"), "fetch", "--to", f"{self.ip}:4433",
                               "--peer-id", self.peer_id, "--bytes", str(self.size)],
                              timeout=600).stdout.split()
        _, got, secs, client_cpu = out[:4]
        if int(got) != self.size:
            sys.exit(f"quic moved {got} of {self.size} bytes")
        time.sleep(0.2)  # the client has every byte; the server may still be closing the stream
        return float(secs), float(client_cpu) + harness.cpu_seconds(self.quic.pid) - before

    def https_once(self):
        out = self.client.run([*nginx.CURL, "-o", "/dev/null", "-w",
                               "%{time_total} %{size_download}", self.base + "blob"],
                              timeout=600).stdout.split()
        if int(out[1]) != self.size:
            sys.exit(f"https moved {out[1]} of {self.size} bytes")
        return float(out[0])

    def measure(self, runs):
        """Medians of (quic seconds, quic CPU seconds, https seconds) after a warm-up."""
        self.quic_once()
        self.https_once()
        qs, qc, hs = [], [], []
        for _ in range(runs):
            s, c = self.quic_once()
            qs.append(s)
            qc.append(c)
            hs.append(self.https_once())
        print(f"  quic: {' '.join(map(str, qs))} s (cpu {' '.join(f'{c:.3f}' for c in qc)} s); "
              f"https: {' '.join(map(str, hs))} s", flush=True)
        return statistics.median(qs), statistics.median(qc), statistics.median(hs)


def main():
    _, rest = harness.parse_args()
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--small", action="store_true")
    opts = ap.parse_args(rest)
    harness.require_root()
    size, runs = (64 << 20, 1) if opts.small else (2 << 30, 3)
    work = harness.Workdir("transport-bench", parent="/dev/shm")
    try:
        bench = Bench(size, work.path)
        print(f"link: veth via a bridge, MTU 1500, {size} bytes, {runs} runs", flush=True)
        q, qc, h = bench.measure(runs)
        bench.server.set_rate("1gbit")
        print("link: veth via a bridge, MTU 1500, tc tbf 1 Gbit/s", flush=True)
        q1, _, h1 = bench.measure(runs)
    finally:
        harness.undo_all()
    mb = size / 1e6
    line = 1e9 / 8 / 1e6  # 1 Gbit/s in MB/s
    print(json.dumps({"quic_MBps": round(mb / q, 1), "https_MBps": round(mb / h, 1),
                      "ratio": round(h / q, 3),
                      "quic_1g_fraction": round(mb / q1 / line, 3),
                      "https_1g_fraction": round(mb / h1 / line, 3),
                      "quic_cpu_s_per_GB": round(qc / (size / 1e9), 3)}))


if __name__ == "__main__":
    main()
