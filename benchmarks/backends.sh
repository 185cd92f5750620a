#!/usr/bin/env bash
# ND4J CPU backend matrix: the same benchmark (SMALL, 256x256, batch 8, inference and training) on each
# nd4j-native classifier that Maven Central serves for 1.0.0-M2.1, one after the other in one run.
# Usage: benchmarks/backends.sh [ITERS] [CLASSIFIER...]   (default 3 iterations; all six classifiers)
# The classifier jars are fetched into the local Maven repository (about 100 MB each) when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iters="${1:-3}"
shift || true
classifiers=("$@")
[ ${#classifiers[@]} -gt 0 ] || classifiers=(linux-x86_64 linux-x86_64-avx2 linux-x86_64-avx512 linux-x86_64-onednn \
  linux-x86_64-onednn-avx2 linux-x86_64-onednn-avx512)
[ -d "$root/cli/target/lib" ] || (cd "$root" && mvn -q -B install -DskipTests && mvn -q -B -f cli/pom.xml package -DskipTests)
repo="${MAVEN_REPO:-$HOME/.m2/repository}/org/nd4j/nd4j-native/1.0.0-M2.1"
for c in "${classifiers[@]}"; do
  native="$repo/nd4j-native-1.0.0-M2.1-$c.jar"
  [ -f "$native" ] || mvn -q -B dependency:get -Dartifact="org.nd4j:nd4j-native:1.0.0-M2.1:jar:$c" -Dtransitive=false
  lib="$(mktemp -d)"
  cp "$root"/cli/target/lib/*.jar "$lib"/
  rm -f "$lib"/nd4j-native-1.0.0-M2.1-linux-x86_64.jar
  cp "$native" "$lib"/
  ext="${c#linux-x86_64}"
  printf '%s ' "$c"
  # cli/target/classes, not the jar: the jar's manifest would add cli/target/lib (and its plain native jar) to the
  # class path
  java -Xmx2g -Dorg.slf4j.simpleLogger.defaultLogLevel=error -Dorg.bytedeco.javacpp.platform.extension="$ext" \
    -cp "$root/cli/target/classes:$lib/*" org.transcnn.cli.TransCnnCli benchmark --preset SMALL --batch 8 --height 256 --width 256 \
    --train --iters "$iters" --json || echo "{\"error\": \"$c failed\"}"
  rm -rf "$lib"
done
