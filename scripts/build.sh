#!/usr/bin/env bash
# Configures and builds lanspread in build/ (or $LANSPREAD_BUILD_DIR).
#   scripts/build.sh [ninja targets...]
# Env: LANSPREAD_SANITIZE=address,undefined builds everything with sanitizers (use another
# LANSPREAD_BUILD_DIR, e.g. build-asan); LANSPREAD_JOBS overrides the job count.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LANSPREAD_BUILD_DIR:-$root/build}"
# Let ccache share results between checkouts in different folders (CI clones anew).
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
args=(-S "$root" -B "$build" -G Ninja -DLANSPREAD_SANITIZE="${LANSPREAD_SANITIZE:-}")
if [[ ! -f "$build/build.ninja" ]] || [[ -n "${LANSPREAD_SANITIZE:-}" ]]; then
  cmake "${args[@]}" >/dev/null
fi
ninja -C "$build" -j "${LANSPREAD_JOBS:-$(nproc)}" "$@"
