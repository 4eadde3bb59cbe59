"""The HTTPS baseline of the transfer benchmarks: nginx serving a directory with TLS 1.3
(TLS_AES_128_GCM_SHA256) and a self-signed P-256 certificate, both made in its own
directory; curl fetches from it with the same suite."""
import os

import harness

PORT = 8443
CURL = ["curl", "-sSk", "--tlsv1.3", "--tls13-ciphers", "TLS_AES_128_GCM_SHA256"]
CONF = """worker_processes 1;
daemon off;
pid {conf}/nginx.pid;
error_log {conf}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log off;
  sendfile off;
  server {{
    listen {ip}:{port} ssl;
    ssl_certificate {conf}/cert.pem;
    ssl_certificate_key {conf}/key.pem;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    root {root};
  }}
}}
"""


def start(host, conf, root):
    """nginx on `host` serving `root` (its workers run as nobody: every directory on the
    way must be readable by all), its files in `conf`. Returns (process, base URL)."""
    os.makedirs(conf, exist_ok=True)
    harness.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=bench",
                 "-keyout", f"{conf}/key.pem", "-out", f"{conf}/cert.pem"])
    with open(f"{conf}/nginx.conf", "w") as f:
        f.write(CONF.format(conf=conf, ip=host.ip(), port=PORT, root=root))
    proc = host.spawn(["nginx", "-p", conf, "-c", f"{conf}/nginx.conf"],
                      log=f"{conf}/nginx.out", capture=False)
    return proc, f"https://{host.ip()}:{PORT}/"
