"""Where a training step of this library spends its time, by operation class, from a JFR recording of
`bin/transcnn benchmark --train` (benchmarks/profile.sh makes one).

Usage: python3 benchmarks/jfr_ops.py RECORDING.jfr [--skip FRACTION] [--json]

Reads the execution samples (Java code) and native-method samples (threads inside ND4J or OpenBLAS calls) of every
Java thread during the training steps (from the first sample whose stack holds ComputationGraph.computeGradientAndScore
to the end), leaving out the first FRACTION of that time (default 0.5: the warm-up steps, whose one-time workspace
allocations are not part of a step),
weights them by their sampling periods (JFR's profile settings: 10 ms for Java, 20 ms for native samples) and sums them
per class of the innermost frame that names one:
  gemm                      OpenBLAS (cblas_?gemm) and the patch gathering of k x k convolutions (Patches*)
  depthwise                 org.transcnn.kernels.Depthwise*, VectorDepthwise
  attention                 org.transcnn.kernels.Attention*, VectorMatmul, VectorSoftmax
  normalisation/elementwise org.transcnn.kernels.NormAct*, VectorNormAct, ND4J's native ops (adds, activations,
                            dropout, updater)
(FastMath's functions count for the kernel that calls them.)
  copies                    copies between ND4J's buffers and the kernels' Java arrays (org.transcnn.layers.runtime.Buffers,
                            org.transcnn.kernels.Bulk*)
  other                     everything else (DL4J's graph bookkeeping, garbage collection helpers, ...)
OpenBLAS's own worker threads are not Java threads and are not sampled: a GEMM on two cores counts once, as the
calling thread's time.
"""
import json
import subprocess
import sys
from datetime import datetime


def seconds(stamp):
    """JFR's ISO-8601 start time (nanosecond digits) as seconds since the epoch."""
    day, frac = stamp.rstrip("Z").split(".")
    return datetime.fromisoformat(day).timestamp() + float("0." + frac)

CLASSES = ["gemm", "depthwise", "attention", "normalisation/elementwise", "copies", "other"]


def frame_class(method):
    t = method["type"]["name"].replace("/", ".")
    m = method["name"]
    k = "org.transcnn.kernels."
    if t.startswith("org.bytedeco.openblas") or t.startswith(k + "Patches"):
        return "gemm"
    if t.startswith(k + "Depthwise") or t.startswith(k + "VectorDepthwise"):
        return "depthwise"
    if t.startswith(k + "Attention") or t.startswith(k + "VectorMatmul") or t.startswith(k + "VectorSoftmax"):
        return "attention"
    if t.startswith(k + "NormAct") or t.startswith(k + "VectorNormAct"):
        return "normalisation/elementwise"
    if t.startswith("org.transcnn.layers.runtime.Buffers") or t.startswith(k + "Bulk"):
        return "copies"
    if t.startswith(k + "HMHSA"):
        # its own loops: pooling, bias sums, the residual sums, dropout and drop-path scaling
        return "normalisation/elementwise"
    if t.startswith(k + "InvertedResidual"):
        # its own loops: the dropout/drop-path scaling and the residual sum
        return "normalisation/elementwise"
    if t.startswith("org.nd4j.linalg.cpu.nativecpu.bindings.Nd4jCpu"):
        return "gemm" if "Mmul" in m else "normalisation/elementwise"
    return None


def main(argv):
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    raw = subprocess.run(["jfr", "print", "--json", "--events", "jdk.ExecutionSample,jdk.NativeMethodSample", argv[0]],
                         check=True, capture_output=True, text=True).stdout
    events = json.loads(raw)["recording"]["events"]
    start = None
    for e in events:
        st = e["values"].get("stackTrace")
        if st and any(f["method"]["name"] == "computeGradientAndScore" for f in st["frames"]):
            t = seconds(e["values"]["startTime"])
            start = t if start is None or t < start else start
    if start is None:
        print("jfr_ops.py: no training step in the recording (run the benchmark with --train)", file=sys.stderr)
        return 1
    skip = float(argv[argv.index("--skip") + 1]) if "--skip" in argv else 0.5
    end = max(seconds(e["values"]["startTime"]) for e in events if e["values"].get("stackTrace"))
    start = start + skip * (end - start)
    totals = dict.fromkeys(CLASSES, 0.0)
    for e in events:
        v = e["values"]
        st = v.get("stackTrace")
        if not st or seconds(v["startTime"]) < start:
            continue
        weight = 20.0 if e["type"] == "jdk.NativeMethodSample" else 10.0
        cls = next((c for c in (frame_class(f["method"]) for f in st["frames"]) if c), "other")
        totals[cls] += weight
    whole = sum(totals.values())
    shares = {k: v / whole for k, v in totals.items()}
    if "--json" in argv:
        print(json.dumps({"framework": "dl4j", "shares": shares}, separators=(",", ":")))
    else:
        for k in CLASSES:
            print(f"{k:28s} {100 * shares[k]:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
