"""Where a training step of the PyTorch reference TransCNN spends its time, by operation class (torch.profiler).

Usage:
    python benchmarks/pytorch/profile_ops.py --preset SMALL [--batch 8] [--height 256] [--width 256] [--threads 2]
        [--steps 2] [--json]

One warm-up step, then `steps` profiled training steps (forward, cross-entropy, backward, AdamW step), as bench.py
measures them. Self CPU time of every aten op (the time spent in the op itself, not in the ops it calls) is summed per
class; convolutions are told apart by their weight shape (recorded shapes): [Co, Ci, 1, 1] is a 1x1 convolution
(a GEMM), [C, 1, k, k] a depthwise one, anything else a k x k convolution (stem, downsampling). The classes are the
ones benchmarks/profile.sh uses for this library: gemm (1x1 and k x k convolutions, linear layers), depthwise,
attention (bmm/matmul/softmax), normalisation/elementwise (batch_norm, activations, adds, multiplies, pooling,
dropout, the optimizer), copies (copy_, permutes, reshapes, cat, padding), other.
"""
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transcnn_ref import PRESETS, transcnn  # noqa: E402

CLASSES = ["gemm", "depthwise", "attention", "normalisation/elementwise", "copies", "other"]
ATTENTION = ("bmm", "matmul", "softmax", "_softmax", "baddbmm")
COPIES = ("copy_", "clone", "contiguous", "cat", "permute", "reshape", "view", "transpose", "unfold", "pad",
          "constant_pad", "_unsafe_view", "expand", "as_strided")
ELEMENTWISE = ("batch_norm", "silu", "gelu", "add", "mul", "div", "sub", "native_batch_norm", "threshold", "fill_", "zero_", "sum", "mean", "var", "sigmoid", "where", "addcmul_",
               "addcdiv_", "sqrt", "lerp_", "_foreach", "max_pool", "avg_pool", "adaptive_avg_pool", "dropout",
               "bernoulli", "empty")


def conv_class(shapes):
    """The class of a convolution (forward or backward) from its recorded input shapes: the weight is the 4-d shape
    whose second dimension is the input channels or 1."""
    four = [s for s in shapes if isinstance(s, (list, tuple)) and len(s) == 4]
    for w in four[1:] + four[:1]:
        if w[2] == 1 and w[3] == 1:
            return "gemm"
    for w in four:
        if w[1] == 1 and w[2] == w[3] and w[2] > 1 and w[0] > 1:
            return "depthwise"
    return "gemm"


def classify(name, shapes):
    op = name.split("::")[-1]
    if "convolution" in op or "conv2d" in op:
        return conv_class(shapes)
    if op in ("addmm", "mm", "linear"):
        return "gemm"
    if any(op.startswith(a) for a in ATTENTION):
        return "attention"
    if any(op.startswith(k) for k in COPIES):
        return "copies"
    if any(k in op for k in ELEMENTWISE):
        return "normalisation/elementwise"
    return "other"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", required=True, type=str.upper, choices=list(PRESETS))
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--height", type=int, default=256)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    model = transcnn(a.preset)
    model.train()
    x = torch.rand(a.batch, 3, a.height, a.width)
    y = torch.arange(a.batch) % model.num_classes
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.05)

    def step():
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        opt.step()

    step()
    with profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        for _ in range(a.steps):
            step()
    totals = dict.fromkeys(CLASSES, 0.0)
    for e in prof.key_averages(group_by_input_shape=True):
        totals[classify(e.key, e.input_shapes)] += e.self_cpu_time_total
    whole = sum(totals.values())
    shares = {k: v / whole for k, v in totals.items()}
    ms = {k: v / 1000.0 / a.steps for k, v in totals.items()}  # profiler times are in microseconds
    if a.json:
        print(json.dumps({"framework": f"pytorch {torch.__version__}", "preset": a.preset, "batch": a.batch,
                          "height": a.height, "width": a.width, "threads": a.threads, "shares": shares,
                          "ms_per_step": ms}, separators=(",", ":")))
    else:
        for k in CLASSES:
            print(f"{k:28s} {100 * shares[k]:5.1f}% {ms[k]:8.1f} ms/step")
    return 0


if __name__ == "__main__":
    sys.exit(main())
