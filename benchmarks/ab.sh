#!/usr/bin/env bash
# Alternating A/B of two checkouts (this one and $BASE, default /tmp/prev, each built with bin/transcnn's build); SMALL (or $PRESET), batch 8, 256x256
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
export OMP_NUM_THREADS=1 OPENBLAS_THREAD_TIMEOUT=4 MALLOC_ARENA_MAX="${MALLOC_ARENA_MAX:-1}"
for r in $(seq 1 ${1:-2}); do
  for which in "$(cd "$(dirname "$0")/.." && pwd)" ${BASE:-/tmp/prev}; do
    printf '%s ' $which
    /usr/bin/time -f 'rss %M KB' java -Xmx2g --add-modules jdk.incubator.vector -Dorg.slf4j.simpleLogger.defaultLogLevel=error -jar $which/cli/target/transcnn-cli-0.1.0-SNAPSHOT.jar benchmark --preset ${PRESET:-SMALL} --batch 8 --height 256 --width 256 --train --iters 3 2>&1 | grep -v WARNING | tail -2 | tr '\n' ' '
    echo
  done
done
