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

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests"))
import harness  # noqa: E402

NGINX_CONF = """worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/logs/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  sendfile off;
  server {{
    listen {ip}:8443 ssl;
    ssl_certificate {work}/cert.pem;
    ssl_certificate_key {work}/key.pem;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    root {work};
  }}
}}
"""


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
        harness.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                     "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=bench",
                     "-keyout", f"{work}/key.pem", "-out", f"{work}/cert.pem"])
        os.makedirs(os.path.join(work, "logs"), exist_ok=True)
        with open(os.path.join(work, "nginx.conf"), "w") as f:
            f.write(NGINX_CONF.format(work=work, ip=self.ip))
        self.server.spawn(["nginx", "-p", work, "-c", f"{work}/nginx.conf"],
                          log=f"{work}/logs/nginx.out", capture=False)
        self.quic = self.server.spawn([harness.tool("quic_bench"), "serve", "--bind",
                                       f"{self.ip}:4433"], log=f"{work}/quic.log")
        ready = self.quic.wait_for(lambda o: o.get("text", "").startswith("READY"), 10)
        if not ready:
            sys.exit(f"quic server did not start: {''.join(self.quic.stderr)}")
        self.peer_id = ready[1]["text"].split()[1]
        if not harness.wait_until(lambda: self.client.run(
                ["curl", "-sk", "-o", "/dev/null", f"https://{self.ip}:8443/"], check=False,
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
        out = self.client.run(["curl", "-sk", "--tlsv1.3", "--tls13-ciphers",
                               "TLS_AES_128_GCM_SHA256", "-o", "/dev/null", "-w",
                               "%{time_total} %{size_download}", f"https://{self.ip}:8443/blob"],
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
