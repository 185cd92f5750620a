#!/usr/bin/env bash
# The README's benchmark table, every row measured in this one run on this machine, one after the other:
# SMALL and BASE (SiLU, and BASE with GELU) at 256x256, DL4J's ResNet-50 at 224x224, all batch 8, inference and
# training, plus ND4J's matrix-multiply roofline; and, where the system Python has torch, the PyTorch reference
# (benchmarks/pytorch) for SMALL and BASE at the same size, batch and iterations, each after the DL4J row it mirrors.
# Writes benchmarks/results.jsonl, results.md and results.png.
# Usage: benchmarks/run.sh [ITERS]   (default 5 timed iterations after 2 warm-up ones)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iters="${1:-5}"
out="$root/benchmarks"
tmp="$(mktemp)"
run() { "$root/bin/transcnn" benchmark --batch 8 --train --iters "$iters" --json "$@" | tee -a "$tmp"; }
# PyTorch rows: Debian's python3-torch on the system Python (not a virtualenv or pyenv one), torch.set_num_threads
# of every core, on an optimised BLAS (bench.py refuses netlib's reference BLAS with exit 3). Optional: without
# torch the table has the DL4J rows only.
py=/usr/bin/python3
torch_ok=1
if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  torch_ok=0
  echo "run.sh: no PyTorch rows ($py cannot import torch); to get them: apt-get install python3-torch libopenblas0-openmp" >&2
fi
torch_run() {
  [ "$torch_ok" = 1 ] || return 0
  local rc=0
  "$py" "$root/benchmarks/pytorch/bench.py" --batch 8 --height 256 --width 256 --iters "$iters" --threads "$(nproc)" \
    --json "$@" | tee -a "$tmp" || rc=$?
  if [ "$rc" = 3 ]; then
    torch_ok=0
    echo "run.sh: no PyTorch rows (torch runs on the reference BLAS); apt-get install libopenblas0-openmp" >&2
  elif [ "$rc" != 0 ]; then
    echo "run.sh: PyTorch row $* failed (exit $rc); left out of the table" >&2
  fi
}
run --preset SMALL --height 256 --width 256 --roofline
torch_run --preset SMALL
run --preset BASE --height 256 --width 256
torch_run --preset BASE
run --preset BASE --height 256 --width 256 --activation GELU
run --preset RESNET50 --height 224 --width 224
mv "$tmp" "$out/results.jsonl"
chmod 644 "$out/results.jsonl"
jar=$(ls "$root"/target/transcnn-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -n 1)
java -cp "$jar:$root/target/lib/*" org.transcnn.bench.BenchmarkReport "$out/results.jsonl" "$out/results.png" \
  | tee "$out/results.md"
