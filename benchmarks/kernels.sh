#!/usr/bin/env bash
# Times the kernels alone (benchmarks/kernels/.../KernelBench.java) against this checkout's compiled classes:
# depthwise convolution, BatchNorm+SiLU and attention on SMALL's shapes at 256x256, batch 8, best of N calls.
# Usage: benchmarks/kernels.sh [CALLS]   (compiles the library first; -Dtranscnn.vector=false in JAVA_OPTS for the
# plain loops). Compare builds by running it in each checkout, alternating: the machine is noisy.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
(cd "$root" && mvn -q -o compile 2>/dev/null || mvn -q compile)
out="$(mktemp -d)"
javac -nowarn --add-modules jdk.incubator.vector -cp "$root/target/classes" -d "$out" \
  "$root/benchmarks/kernels/org/transcnn/kernels/KernelBench.java" 2>/dev/null
java --add-modules jdk.incubator.vector ${JAVA_OPTS:-} -cp "$root/target/classes:$out" org.transcnn.kernels.KernelBench \
  "${1:-10}" 2>&1 | grep -v "^WARNING: Using incubator"
rm -rf "$out"
