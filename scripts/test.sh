#!/usr/bin/env bash
# Installs what is missing, builds everything and runs every test with CTest.
#   scripts/test.sh [ctest arguments...]   e.g. -L unit, -LE integration, -R Scan
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${LANSPREAD_BUILD_DIR:-$root/build}"
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$build"
# Tests that share global resources (mDNS port, namespaces) carry RESOURCE_LOCKs, so
# running two at a time is safe.
exec ctest --output-on-failure --timeout 900 -j "${LANSPREAD_TEST_JOBS:-2}" "$@"
