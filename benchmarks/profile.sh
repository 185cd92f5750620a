#!/usr/bin/env bash
# Time per operation class of one preset's training step (batch 8, 256x256), this library next to PyTorch 2.13, as a
# Markdown table: JFR samples of `bin/transcnn benchmark --train` (benchmarks/jfr_ops.py) and torch.profiler self
# times of the PyTorch reference (benchmarks/pytorch/profile_ops.py; skipped without torch, see run.sh).
# Usage: benchmarks/profile.sh [PRESET]   (default SMALL)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
preset="${1:-SMALL}"
py="${TORCH_PYTHON:-$root/benchmarks/.venv/bin/python}"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
jfr="$(mktemp --suffix=.jfr)"
trap 'rm -f "$jfr"' EXIT
TRANSCNN_JAVA_OPTS="-XX:StartFlightRecording=filename=$jfr,settings=profile" \
  "$root/bin/transcnn" benchmark --preset "$preset" --batch 8 --height 256 --width 256 --train --iters 3 --json \
  2>/dev/null | tail -n 1 > "$jfr.json"
ours="$(python3 "$root/benchmarks/jfr_ops.py" "$jfr" --json)"
bench="$(cat "$jfr.json")"
rm -f "$jfr.json"
theirs="{}"
if "$py" -c 'import torch' >/dev/null 2>&1; then
  theirs="$("$py" "$root/benchmarks/pytorch/profile_ops.py" --preset "$preset" --threads "$(nproc)" --json 2>/dev/null | tail -n 1)"
fi
python3 - "$preset" "$ours" "$theirs" "$bench" <<'PY'
import json, sys
preset, ours, theirs, bench = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3]), json.loads(sys.argv[4])
step_ms = 1000.0 * bench["batch"] / bench["train_img_s"]
classes = ["gemm", "depthwise", "attention", "normalisation/elementwise", "copies", "other"]
torch_label = theirs.get("framework", "PyTorch: not measured")
print(f"Time per operation class of a {preset} training step, batch 8, 256x256 (benchmarks/profile.sh). This library:"
      f" share of the JFR samples of its Java threads times its measured step time ({step_ms:.0f} ms in this run);"
      f" {torch_label}: torch.profiler self time per step.\n")
print(f"| class | this library | {torch_label} |")
print("|---|---|---|")
for c in classes:
    t = theirs.get("ms_per_step", {}).get(c)
    share = theirs.get("shares", {}).get(c)
    mine = f"{ours['shares'][c] * step_ms:.0f} ms ({100 * ours['shares'][c]:.1f}%)"
    print(f"| {c} | {mine} | {'' if t is None else f'{t:.0f} ms ({100 * share:.1f}%)'} |")
PY
