#!/usr/bin/env bash
# Scan benchmark: generates a library, times a cold scan (hashing every chunk, no index) and
# a warm rescan (index present), and in the same run `openssl dgst -sha256` over the same
# files with the same number of parallel workers. Medians of several runs after a warm-up.
#   scan_bench [--small]        --small: a tiny library, to check that the benchmark works
# Last line: {"hash_MBps":…, "openssl_MBps":…, "hash_ratio":…, "cold_s":…, "warm_s":…,
#             "warm_over_cold":…}
set -euo pipefail
LANSPREAD="${LANSPREAD:-@LANSPREAD_BINARY@}"
GAMES=100 FILES_PER_GAME=200 BIG_MIB=32 SMALL_KIB=48 RUNS=3
if [[ "${1:-}" == "--small" ]]; then GAMES=3 FILES_PER_GAME=20 BIG_MIB=9 SMALL_KIB=4 RUNS=1; fi
THREADS="$(nproc)"

work="$(mktemp -d "${TMPDIR:-/var/tmp}/lanspread-scan-bench.XXXXXX")"
trap 'rm -rf "$work"' EXIT INT TERM
games="$work/games"
catalog="$work/catalog.ini"

/usr/bin/python3 - "$games" "$catalog" "$GAMES" "$FILES_PER_GAME" "$BIG_MIB" "$SMALL_KIB" <<'PY'
import os, sys
games, catalog, n_games, per_game, big_mib, small_kib = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
block = os.urandom(1 << 20)
with open(catalog, "w") as cat:
    for g in range(n_games):
        gid = f"game{g:03d}"
        cat.write(f"[{gid}]\nname = Game {g}\n")
        root = os.path.join(games, gid)
        os.makedirs(os.path.join(root, "data"))
        with open(os.path.join(root, "version.ini"), "w") as f:
            f.write("1\n")
        with open(os.path.join(root, "data", "big.pak"), "wb") as f:
            for i in range(big_mib):
                f.write(block[i % 997:] + block[:i % 997])  # distinct blocks
        for i in range(per_game - 2):
            with open(os.path.join(root, "data", f"f{i:04d}.dat"), "wb") as f:
                off = (g * per_game + i) % ((1 << 20) - small_kib * 1024)
                f.write(block[off:off + small_kib * 1024])
PY

total_bytes=$(find "$games" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
file_count=$(find "$games" -type f | wc -l)

now() { date +%s.%N; }
seconds() { local s e; s=$(now); "$@" >/dev/null; e=$(now); awk -v a="$s" -v b="$e" 'BEGIN { printf "%.4f\n", b - a }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
openssl_all() { find "$games" -type f ! -name '.lanspread*' -print0 | xargs -0 -P "$THREADS" -n 256 openssl dgst -sha256; }
# Timed runs print the human table: printing every manifest as JSON would time the printer.
cold_scan() {
  find "$games" -name .lanspread.index -delete
  "$LANSPREAD" scan --games "$games" --catalog "$catalog" --threads "$THREADS"
}
warm_scan() { "$LANSPREAD" scan --games "$games" --catalog "$catalog" --threads "$THREADS"; }

# Warm-up: first touches of memory and page cache cost much more on these machines.
openssl_all >/dev/null
cold_scan >/dev/null

o=() c=() w=()
for ((r = 0; r < RUNS; r++)); do
  o+=("$(seconds openssl_all)")
  c+=("$(seconds cold_scan)")
  w+=("$(seconds warm_scan)")
done
openssl_s=$(median "${o[@]}") cold_s=$(median "${c[@]}") warm_s=$(median "${w[@]}")

# Sanity: the scan must have produced a manifest for every game.
manifests=$("$LANSPREAD" scan --games "$games" --catalog "$catalog" --json | /usr/bin/python3 -c 'import json,sys; print(sum(1 for g in json.load(sys.stdin)["games"] if g["manifest"]))')
if [[ "$manifests" != "$GAMES" ]]; then echo "scan produced $manifests manifests, expected $GAMES" >&2; exit 1; fi

echo "library: $GAMES games, $file_count files, $total_bytes bytes; $THREADS workers; runs: $RUNS"
echo "openssl dgst: ${o[*]} s; cold scan: ${c[*]} s; warm scan: ${w[*]} s"
/usr/bin/python3 -c "
import json
t, o, c, w = $total_bytes / 1e6, $openssl_s, $cold_s, $warm_s
print(json.dumps({'hash_MBps': round(t / c, 1), 'openssl_MBps': round(t / o, 1),
                  'hash_ratio': round(o / c, 3), 'cold_s': round(c, 3), 'warm_s': round(w, 3),
                  'warm_over_cold': round(w / c, 4)}))"
