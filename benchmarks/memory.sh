#!/usr/bin/env bash
# Where a training process's memory goes (benchmarks/memory/MemoryProbe.java): DL4J's workspaces, the Java heap and
# the resident memory after three training steps of a preset at 256x256, with bin/transcnn's JVM settings for the
# benchmark (2 GB heap, the Vector API, OMP_NUM_THREADS=1, OPENBLAS_THREAD_TIMEOUT=4, MALLOC_ARENA_MAX=1).
# Usage: benchmarks/memory.sh [PRESET] [BATCH]   (builds the command line first, as bin/transcnn does)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/bin/transcnn" --version >/dev/null
cp="$(ls "$root"/cli/target/lib/*.jar | tr '\n' ':')"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
javac -nowarn -cp "$cp" -d "$out" "$root/benchmarks/memory/MemoryProbe.java" 2>/dev/null
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_THREAD_TIMEOUT="${OPENBLAS_THREAD_TIMEOUT:-4}" MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" \
  java -Xmx2g --add-modules jdk.incubator.vector -Dorg.slf4j.simpleLogger.defaultLogLevel=error -cp "$cp:$out" \
  MemoryProbe "${1:-SMALL}" "${2:-8}" 2>&1 | grep -v "^WARNING: Using incubator"
