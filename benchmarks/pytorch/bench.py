"""Throughput of the PyTorch reference TransCNN (transcnn_ref.py), measured like `bin/transcnn benchmark`.

Usage:
    /usr/bin/python3 benchmarks/pytorch/bench.py --preset SMALL|BASE|MEDIUM|LARGE [--batch 8] [--height 256]
        [--width 256] [--iters 5] [--warmup 10] [--threads 2] [--activation SILU|GELU] [--no-train] [--json]
        [--allow-reference-blas]

Same methodology as the Java harness (org.transcnn.bench.Benchmark / BenchmarkCommand):
  - random input, uniform [0, 1), fixed seed; labels i % classes; 1000 classes; fresh (official) initialisation;
  - inference: model.eval() under torch.no_grad(), `warmup` untimed then `iters` timed passes, median;
  - training (unless --no-train): model.train() (BatchNorm on batch statistics, the hard-coded head dropout 0.2, no
    drop path: the Java defaults), forward + cross-entropy + backward + AdamW step (lr 1e-3, weight decay 0.05 on
    every parameter; the Java harness steps Adam 1e-3 without decay, one elementwise update per parameter less),
    gradients cleared each step; `warmup` untimed then `iters` timed steps, median; measured after inference, in
    the same process;
  - images/s = batch / median seconds; GFLOP/s = 2 flops per multiply-add, a training step counted as 3 forward
    passes; multiply-adds per image counted as the Java ModelSummary counts them (count_macs);
  - peak RSS: the process's ru_maxrss (KiB on Linux) / 1024, whole MB, like the Java VmHWM / 1024.
torch.set_num_threads(threads) sets the intra-op threads (default 2).
The BLAS that torch's matmuls run on is reported ("blas"): Debian's python3-torch uses the system libblas.so.3,
which is netlib's unoptimised reference BLAS unless an optimised one is installed (apt-get install
libopenblas0-openmp: OpenBLAS on torch's own OpenMP runtime). On the reference BLAS bench.py refuses to run
(exit 3) unless --allow-reference-blas.
Like the official code, the reference needs height and width to be multiples of 128 for the presets (whole 8x8
windows at strides 4, 8 and 16; the Java library pads instead), so the smallest input is 128x128.
With --json prints one JSON line with the Java rows' field names plus "framework": "pytorch <version>", which
BenchmarkReport uses to label the row; rows without "framework" are DL4J's.
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transcnn_ref import PRESETS, count_macs, transcnn  # noqa: E402


def median_seconds(warmup, iters, step):
    for _ in range(warmup):
        step()
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    times.sort()
    return times[iters // 2] if iters % 2 == 1 else (times[iters // 2 - 1] + times[iters // 2]) / 2


OPTIMISED_BLAS = ("openblas", "blis", "mkl")


def blas_library():
    """The BLAS this torch runs its matmuls on: the BLAS libraries mapped into the process (Debian's python3-torch
    links the system libblas.so.3, whichever alternative that points to; an optimised one maps its real library
    too, e.g. libopenblasp-r0.3.21.so), else the one torch was built with (pip wheels link MKL statically)."""
    info = [w for w in torch.__config__.show().replace(",", " ").split() if w.startswith("BLAS_INFO=")]
    if info and info[0] == "BLAS_INFO=mkl":
        return "built in (BLAS_INFO=mkl)"  # the pip wheels: MKL linked statically (numpy's OpenBLAS is mapped too)
    libs = set()
    with open("/proc/self/maps") as f:
        for line in f:
            path = line.split()[-1]
            name = os.path.basename(path).lower()
            if path.startswith("/") and ("blas" in name or "blis" in name or "mkl" in name):
                libs.add(path)
    optimised = sorted(lib for lib in libs if any(k in os.path.basename(lib).lower() for k in OPTIMISED_BLAS))
    if optimised or libs:
        return ", ".join(optimised or sorted(libs))
    info = [w for w in torch.__config__.show().replace(",", " ").split() if w.startswith("BLAS_INFO=")]
    return "built in (" + (info[0] if info else "BLAS_INFO unknown") + ")"


def is_reference_blas(blas):
    """Netlib's reference BLAS (Debian's libblas3: /usr/lib/x86_64-linux-gnu/blas/libblas.so.3): unoptimised. With
    it, SMALL at 128x128 ran 8.5x slower in inference and 5.4x in training than on OpenBLAS (same machine, 1 thread)."""
    libs = blas.split(", ")
    return (any(os.path.basename(lib).startswith("libblas.so") for lib in libs)
            and not any(k in blas.lower() for k in OPTIMISED_BLAS))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024  # KiB on Linux


def main(argv=None):
    p = argparse.ArgumentParser(description="Median images/s of the PyTorch reference TransCNN (inference and "
                                            "training) on random data, and peak RSS.")
    p.add_argument("--preset", required=True, type=str.upper, choices=list(PRESETS))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--iters", type=int, default=5, help="timed iterations (default 5), after the warm-up ones")
    p.add_argument("--warmup", type=int, default=10, help="untimed warm-up iterations (default 10, as bin/transcnn benchmark)")
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    p.add_argument("--activation", type=str.upper, default="SILU", choices=["SILU", "GELU"])
    p.add_argument("--train", action=argparse.BooleanOptionalAction, default=True,
                   help="also measure training (default; --no-train: inference only)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--allow-reference-blas", action="store_true",
                   help="run even if torch uses netlib's unoptimised reference BLAS (refused by default, exit 3)")
    a = p.parse_args(argv)
    if a.batch < 1 or a.warmup < 0 or a.iters < 1 or a.threads < 1:
        p.error(f"need batch >= 1, warmup >= 0, iterations >= 1, threads >= 1; got {a.batch}, {a.warmup}, "
                f"{a.iters}, {a.threads}")

    blas = blas_library()
    if is_reference_blas(blas) and not a.allow_reference_blas:
        print(f"bench.py: torch uses the reference BLAS ({blas}), several times slower than an optimised one; "
              f"install one (Debian: apt-get install libopenblas0-openmp) or pass --allow-reference-blas",
              file=sys.stderr)
        return 3
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = transcnn(a.preset, activation=a.activation)
    classes = model.num_classes
    try:
        macs = count_macs(model, a.height, a.width)  # also checks that the size works (official: multiples of 128)
    except ValueError as e:
        p.error(f"{a.height}x{a.width}: {e}")
    x = torch.rand(a.batch, 3, a.height, a.width)
    y = torch.arange(a.batch) % classes

    model.eval()

    def infer():
        with torch.no_grad():
            model(x)

    fwd = median_seconds(a.warmup, a.iters, infer)
    trn = None
    if a.train:
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)

        def step():
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()
            opt.step()

        trn = median_seconds(a.warmup, a.iters, step)

    fwd_img_s = a.batch / fwd
    train_img_s = a.batch / trn if trn is not None else None
    rss = peak_rss_mb()
    framework = f"pytorch {torch.__version__}"
    if a.json:
        o = {"framework": framework, "preset": a.preset, "activation": a.activation, "batch": a.batch,
             "height": a.height, "width": a.width, "iters": a.iters, "threads": a.threads, "blas": blas,
             "fwd_img_s": fwd_img_s, "train_img_s": train_img_s}
        if train_img_s is not None:
            o["train_gflop_s"] = 6.0 * macs * train_img_s / 1e9
        o.update({"peak_rss_mb": rss, "macs_per_image": macs, "fwd_gmac_s": fwd_img_s * macs / 1e9,
                  "fwd_gflop_s": 2.0 * macs * fwd_img_s / 1e9})
        print(json.dumps(o, separators=(",", ":")))
    else:
        train = (f", training {train_img_s:.2f} images/s ({6.0 * macs * train_img_s / 1e9:.1f} GFLOP/s)"
                 if train_img_s is not None else "")
        print(f"{a.preset} ({framework}, {a.threads} threads, BLAS {blas}) batch {a.batch}, {a.height}x{a.width}: "
              f"inference {fwd_img_s:.2f} images/s ({2.0 * macs * fwd_img_s / 1e9:.1f} GFLOP/s){train}, peak RSS {rss} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
