#!/usr/bin/env bash
# Installs what is missing, builds, and runs the peer on defaults.
#   scripts/run.sh [lanspread arguments...]   (default: serve)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
"$root/scripts/build.sh" lanspread
if (($# == 0)); then set -- serve; fi
exec "${LANSPREAD_BUILD_DIR:-$root/build}/lanspread" "$@"
