#!/usr/bin/env bash
# Installs every Debian 12 package lanspread needs to build, run and test.
# Idempotent: when everything is present it only checks and returns.
set -euo pipefail

PACKAGES=(
  # toolchain (clang-16: g++ 12 miscompiles coroutines; see docs/architecture.md)
  clang-16 lld-16 libclang-rt-16-dev cmake ninja-build ccache pkg-config clang-format
  # libraries
  libboost1.81-dev libboost-json1.81-dev
  libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev nettle-dev
  libarchive-dev libspdlog-dev libfmt-dev libcli11-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev python3 python3-zeroconf iproute2
  libarchive-tools openssl nginx curl aria2
  # the web UI's end-to-end test drives Debian's chromium headless (playwright-core, no
  # browser download); fonts so pages render with real glyphs
  chromium fonts-dejavu-core
  # packaging (cpack -G DEB: dpkg-shlibdeps; its test: readelf, systemd-analyze)
  dpkg-dev binutils systemd
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#PACKAGES[@]} packages present"
fi

# The web UI is built with Node.js >= 20 and npm (web/, docs/ui.md). The machine image ships
# them; Debian 12's own nodejs is 18, too old for the build tools, so it is not installed here.
node_major="$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')"
if [[ -z "$node_major" ]] || ((node_major < 20)) || ! command -v npm >/dev/null; then
  echo "setup: the web UI needs Node.js >= 20 with npm (found: ${node_major:-none});" \
       "install it, or configure with -DLANSPREAD_WEB_UI=OFF to build without the UI" >&2
  exit 1
fi
