#!/usr/bin/env bash
# Transport benchmark: two network namespaces joined by a veth pair (MTU 1500). In the same
# run it moves SIZE bytes over one QUIC stream (quic_bench) and over HTTPS (nginx with
# TLS 1.3 AES-128-GCM, fetched by curl), first on the bare link, then through a 1 Gbit/s
# `tc tbf` limit. Warm-up first, then the median of RUNS runs. Needs root.
#   transport_bench [--small]          --small: 64 MiB, one run (checks that it works)
# Last line: {"quic_MBps":…, "https_MBps":…, "ratio":…, "quic_1g_fraction":…,
#             "https_1g_fraction":…, "quic_cpu_s_per_GB":…}
set -euo pipefail
QUIC_BENCH="${QUIC_BENCH:-@QUIC_BENCH@}"
SIZE=$((2 * 1024 * 1024 * 1024)) RUNS=3
if [[ "${1:-}" == "--small" ]]; then SIZE=$((64 * 1024 * 1024)) RUNS=1; fi
# A benchmarking address range (RFC 2544), only ever inside our own namespaces.
IP_A=198.18.0.1 IP_B=198.18.0.2
A="lsbench-a-$$" B="lsbench-b-$$"
work="$(mktemp -d /dev/shm/lanspread-transport-bench.XXXXXX)"
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$A"
ip netns add "$B"
ip link add veth-a netns "$A" type veth peer name veth-b netns "$B"
ip -n "$A" addr add "$IP_A/24" dev veth-a
ip -n "$B" addr add "$IP_B/24" dev veth-b
for ns in "$A" "$B"; do
  ip -n "$ns" link set lo up
done
ip -n "$A" link set veth-a mtu 1500 up
ip -n "$B" link set veth-b mtu 1500 up

# HTTPS baseline: nginx serving SIZE bytes from memory.
chmod 755 "$work"
head -c "$SIZE" /dev/zero > "$work/blob"
chmod 644 "$work/blob"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=bench -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
mkdir -p "$work/logs"
cat > "$work/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/logs/error.log;
events { worker_connections 64; }
http {
  access_log off;
  sendfile off;
  server {
    listen $IP_B:8443 ssl;
    ssl_certificate $work/cert.pem;
    ssl_certificate_key $work/key.pem;
    ssl_protocols TLSv1.3;
    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;
    root $work;
  }
}
CONF
ip netns exec "$B" nginx -p "$work" -c "$work/nginx.conf" &
pids+=($!)
ip netns exec "$B" "$QUIC_BENCH" serve --bind "$IP_B:4433" > "$work/quic.out" 2> "$work/quic.err" &
pids+=($!)
for _ in $(seq 100); do
  grep -q READY "$work/quic.out" 2>/dev/null && break
  sleep 0.1
done
peer_id=$(awk '/READY/ {print $2}' "$work/quic.out")
[[ -n "$peer_id" ]] || { echo "quic server did not start" >&2; cat "$work/quic.err" >&2; exit 1; }
for _ in $(seq 50); do
  ip netns exec "$A" curl -sk -o /dev/null "https://$IP_B:8443/" 2>/dev/null && break
  sleep 0.1
done

server_cpu() { awk '/SENT/ {c=$3} END {print c+0}' "$work/quic.out"; }

# Prints "<seconds> <cpu seconds of both ends>".
quic_once() {
  local before out
  before=$(server_cpu)
  out=$(ip netns exec "$A" "$QUIC_BENCH" fetch --to "$IP_B:4433" --peer-id "$peer_id" --bytes "$SIZE")
  sleep 0.2  # let the server print its line
  read -r _ got secs ccpu <<<"$out"
  [[ "$got" == "$SIZE" ]] || { echo "quic moved $got of $SIZE bytes" >&2; exit 1; }
  echo "$secs $(awk -v c="$ccpu" -v a="$(server_cpu)" -v b="$before" 'BEGIN {print c + a - b}')"
}

https_once() {
  local out
  out=$(ip netns exec "$A" curl -sk --tlsv1.3 --tls13-ciphers TLS_AES_128_GCM_SHA256 \
    -o /dev/null -w '%{time_total} %{size_download}' "https://$IP_B:8443/blob")
  read -r secs got <<<"$out"
  [[ "$got" == "$SIZE" ]] || { echo "https moved $got of $SIZE bytes" >&2; exit 1; }
  echo "$secs"
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() {  # sets q_s, q_cpu, h_s
  quic_once >/dev/null
  https_once >/dev/null
  local qs=() qc=() hs=()
  for ((r = 0; r < RUNS; r++)); do
    read -r s c <<<"$(quic_once)"
    qs+=("$s") qc+=("$c")
    hs+=("$(https_once)")
  done
  echo "  quic: ${qs[*]} s (cpu ${qc[*]} s); https: ${hs[*]} s"
  q_s=$(median "${qs[@]}") q_cpu=$(median "${qc[@]}") h_s=$(median "${hs[@]}")
}

echo "link: veth, MTU 1500, $SIZE bytes, $RUNS runs"
measure
free_q=$q_s free_cpu=$q_cpu free_h=$h_s
ip netns exec "$B" tc qdisc add dev veth-b root tbf rate 1gbit burst 256kb latency 20ms
echo "link: veth, MTU 1500, tc tbf 1 Gbit/s"
measure
/usr/bin/python3 -c "
import json
size = $SIZE
q, h, qc = $free_q, $free_h, $free_cpu
q1, h1 = $q_s, $h_s
mb = size / 1e6
line = 1e9 / 8 / 1e6  # 1 Gbit/s in MB/s
print(json.dumps({'quic_MBps': round(mb / q, 1), 'https_MBps': round(mb / h, 1),
                  'ratio': round(h / q, 3),
                  'quic_1g_fraction': round(mb / q1 / line, 3),
                  'https_1g_fraction': round(mb / h1 / line, 3),
                  'quic_cpu_s_per_GB': round(qc / (size / 1e9), 3)}))"
