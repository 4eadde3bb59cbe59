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
  libarchive-tools openssl nginx curl
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
