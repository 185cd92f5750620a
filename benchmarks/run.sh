#!/usr/bin/env bash
# Throughput table of the README: every row measured in this one run, on this machine, one after the other.
# Usage: benchmarks/run.sh [ITERS]   (default 5 timed iterations after 2 warm-up ones)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iters="${1:-5}"
for preset in SMALL BASE; do
  "$root/bin/transcnn" benchmark --preset "$preset" --batch 8 --height 256 --width 256 --train --iters "$iters" --json
done
