#!/usr/bin/env bash
# The README's benchmark table, every row measured in this one run on this machine, one after the other:
# SMALL and BASE (SiLU, and BASE with GELU) at 256x256, DL4J's ResNet-50 at 224x224, all batch 8, inference and
# training, plus ND4J's matrix-multiply roofline; and, where the system Python has torch, the PyTorch reference
# (benchmarks/pytorch) for SMALL and BASE at the same size, batch and iterations, each after the DL4J row it mirrors.
# Writes benchmarks/results.jsonl, results.md and results.png; then benchmarks/profile.sh writes ops.md (time per
# operation class of a SMALL training step, this library next to PyTorch).
# Usage: benchmarks/run.sh [ITERS]   (default 5 timed iterations after 2 warm-up ones)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iters="${1:-5}"
out="$root/benchmarks"
tmp="$(mktemp)"
run() { "$root/bin/transcnn" benchmark --batch 8 --train --iters "$iters" --json "$@" | tee -a "$tmp"; }
# PyTorch rows: the PyTorch 2.13 CPU wheel (MKL + oneDNN, the build a user installs with pip) in a virtual
# environment of its own, benchmarks/.venv, made on first use (python3 -m venv; pip install torch==2.13.0 numpy);
# TORCH_PYTHON=/path/to/python uses another interpreter. Optional: without torch the table has the DL4J rows only.
py="${TORCH_PYTHON:-$root/benchmarks/.venv/bin/python}"
if [ -z "${TORCH_PYTHON:-}" ] && [ ! -x "$py" ]; then
  echo "run.sh: making $root/benchmarks/.venv with torch 2.13.0 (pip)..." >&2
  python3 -m venv "$root/benchmarks/.venv" && "$root/benchmarks/.venv/bin/pip" install -q torch==2.13.0 numpy >&2 \
    || echo "run.sh: could not install torch into benchmarks/.venv" >&2
fi
torch_ok=1
if ! "$py" -c 'import torch' >/dev/null 2>&1; then
  torch_ok=0
  echo "run.sh: no PyTorch rows ($py cannot import torch)" >&2
fi
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE (set on some build machines for old OpenBLAS builds) would force OpenBLAS's
# kernels: a user's machine has neither, so neither do the benchmarks.
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
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
jar=$(ls "$root"/cli/target/transcnn-cli-*.jar | grep -v -- '-sources\|-javadoc\|-tests' | head -n 1)
java -cp "$jar:$root/cli/target/lib/*" org.transcnn.bench.BenchmarkReport "$out/results.jsonl" "$out/results.png" \
  | tee "$out/results.md"
"$root/benchmarks/profile.sh" SMALL | tee "$out/ops.md"
