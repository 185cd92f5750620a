#!/usr/bin/env bash
# Alternating, side by side: this checkout, the checkout $BASE (default /tmp/prev; omit it with BASE=none) and
# PyTorch 2.13 ($TORCH_PYTHON, default benchmarks/.venv/bin/python, as run.sh makes it), for each of $PRESETS
# (default "SMALL BASE"), batch 8, 256x256, inference and training, ROUNDS times (default 2), WARMUP untimed (default 10) and ITERS timed iterations each (default 3). Each checkout must be
# built (mvn -o -q install -DskipTests && mvn -o -q -f cli/pom.xml clean package -DskipTests; install this
# checkout's library again after building another). OpenBLAS variables unset, as on a user's machine; the JVMs get
# bin/transcnn's environment (one thread per ND4J op, OpenBLAS's short spin, one malloc arena), PyTorch its own.
# Usage: benchmarks/side_by_side.sh [ROUNDS]
root="$(cd "$(dirname "$0")/.." && pwd)"
py="${TORCH_PYTHON:-$root/benchmarks/.venv/bin/python}"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=1 OPENBLAS_THREAD_TIMEOUT=4
checkouts="$root"
[ "${BASE:-/tmp/prev}" != none ] && checkouts="$checkouts ${BASE:-/tmp/prev}"
for r in $(seq 1 "${1:-2}"); do
  for preset in ${PRESETS:-SMALL BASE}; do
    for d in $checkouts; do
      printf '%s %s ' "$d" "$preset"
      MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}" /usr/bin/time -f 'rss %M KB' java -Xmx2g --add-modules jdk.incubator.vector \
        -Dorg.slf4j.simpleLogger.defaultLogLevel=error -jar "$d"/cli/target/transcnn-cli-0.1.0-SNAPSHOT.jar \
        benchmark --preset "$preset" --batch 8 --height 256 --width 256 --train --warmup "${WARMUP:-10}" --iters "${ITERS:-3}" 2>&1 \
        | grep -v WARNING | tail -2 | tr '\n' ' '
      echo
    done
    printf 'torch %s ' "$preset"
    /usr/bin/time -f 'rss %M KB' "$py" "$root/benchmarks/pytorch/bench.py" --preset "$preset" --batch 8 \
      --height 256 --width 256 --warmup "${WARMUP:-10}" --iters "${ITERS:-3}" --threads 2 2>&1 | tail -2 | tr '\n' ' '
    echo
  done
done
