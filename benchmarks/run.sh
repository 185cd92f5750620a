#!/usr/bin/env bash
# The README's benchmark table, every row measured in this one run on this machine, one after the other:
# SMALL and BASE (SiLU, and BASE with GELU) at 256x256, DL4J's ResNet-50 at 224x224, all batch 8, inference and
# training, plus ND4J's matrix-multiply roofline. Writes benchmarks/results.jsonl, results.md and results.png.
# Usage: benchmarks/run.sh [ITERS]   (default 5 timed iterations after 2 warm-up ones)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iters="${1:-5}"
out="$root/benchmarks"
tmp="$(mktemp)"
run() { "$root/bin/transcnn" benchmark --batch 8 --train --iters "$iters" --json "$@" | tee -a "$tmp"; }
run --preset SMALL --height 256 --width 256 --roofline
run --preset BASE --height 256 --width 256
run --preset BASE --height 256 --width 256 --activation GELU
run --preset RESNET50 --height 224 --width 224
mv "$tmp" "$out/results.jsonl"
chmod 644 "$out/results.jsonl"
jar=$(ls "$root"/target/transcnn-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -n 1)
java -cp "$jar:$root/target/lib/*" org.transcnn.bench.BenchmarkReport "$out/results.jsonl" "$out/results.png" \
  | tee "$out/results.md"
