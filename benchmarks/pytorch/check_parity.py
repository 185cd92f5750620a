"""Checks transcnn_ref.py against the reference fixtures produced by the official TransCNN code.

Usage (a development tool, not part of the build or the tests):
    /usr/bin/python3 benchmarks/pytorch/check_parity.py [FIXTURES_DIR]
FIXTURES_DIR: the folder holding transcnn-mini-64, transcnn-mini-128 and transcnn-mini-rect, each with
config.json, model.pth, input.npy, eval_logits.npy, eval_stage{1..4}.npy, train_stage4.npy (and, for mini-64,
grad_seed.npy and grads/NAME.npy). Default: src/test/resources/fixtures of this repository, the copy the Java
tests use (identical to the project's shared fixtures folder, ../shared/fixtures from the repository root in the
development workspace, which can be passed instead).

For each fixture: builds TransCNN from config.json's constructor kwargs, loads model.pth with strict=True (so the
state_dict keys must equal the official ones), and compares
  - model.eval(): logits and the four stage outputs, error scaled by max(1, max|reference|), tolerance 1e-4;
  - model.train(): the stage 4 output (BatchNorm on batch statistics), same tolerance;
  - mini-64 only, model.train() with the head dropout set to 0: the gradient of sum(logits * grad_seed) with
    respect to every parameter, error scaled by max|reference gradient| (relative), tolerance 1e-3.
Prints the maximum error per comparison and exits 1 if any exceeds its tolerance (or a fixture is missing).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transcnn_ref import TransCNN, count_params  # noqa: E402

EVAL_TOL = 1e-4
GRAD_TOL = 1e-3
FIXTURES = ("transcnn-mini-64", "transcnn-mini-128", "transcnn-mini-rect")


def scaled_error(got, ref):
    """max|got - ref| / max(1, max|ref|): the fixtures' eval tolerance measure."""
    got = got.detach().double().numpy()
    ref = ref.astype(np.float64)
    if got.shape != ref.shape:
        raise AssertionError(f"shape {got.shape} != reference {ref.shape}")
    return float(np.abs(got - ref).max() / max(1.0, np.abs(ref).max()))


def relative_error(got, ref):
    """max|got - ref| / max|ref| (relative to the largest reference entry of that tensor)."""
    got = got.detach().double().numpy()
    ref = ref.astype(np.float64)
    if got.shape != ref.shape:
        raise AssertionError(f"shape {got.shape} != reference {ref.shape}")
    scale = np.abs(ref).max()
    return float(np.abs(got - ref).max() / scale) if scale > 0 else float(np.abs(got).max())


def build(folder):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = json.load(f)
    model = TransCNN(**cfg["kwargs"])
    state = torch.load(os.path.join(folder, "model.pth"), map_location="cpu")
    model.load_state_dict(state, strict=True)
    if count_params(model) != cfg["params"]:
        raise AssertionError(f"{count_params(model)} parameters, config.json says {cfg['params']}")
    return model, state


def check(folder, report):
    name = os.path.basename(folder)
    model, state = build(folder)
    x = torch.from_numpy(np.load(os.path.join(folder, "input.npy")))

    model.eval()
    with torch.no_grad():
        stages = model.forward_stages(x)
        logits = model(x)
    report(name, "eval logits", scaled_error(logits, np.load(os.path.join(folder, "eval_logits.npy"))), EVAL_TOL)
    for i, s in enumerate(stages, 1):
        ref = np.load(os.path.join(folder, f"eval_stage{i}.npy"))
        report(name, f"eval stage{i}", scaled_error(s, ref), EVAL_TOL)

    model.train()
    with torch.no_grad():
        s4 = model.forward_stages(x)[-1]
    report(name, "train stage4", scaled_error(s4, np.load(os.path.join(folder, "train_stage4.npy"))), EVAL_TOL)

    seed_file = os.path.join(folder, "grad_seed.npy")
    if os.path.exists(seed_file):
        # Fresh weights: the train-mode pass above updated the BN running statistics (not used in train mode,
        # but keep the gradient pass exactly on the checkpoint's state)
        model.load_state_dict(state, strict=True)
        model.train()
        model.classifier[0].p = 0.0  # the fixture's head dropout
        model.zero_grad(set_to_none=True)
        seed = torch.from_numpy(np.load(seed_file))
        (model(x) * seed).sum().backward()
        grads = os.path.join(folder, "grads")
        names = sorted(f[:-4] for f in os.listdir(grads) if f.endswith(".npy"))
        params = dict(model.named_parameters())
        if set(names) != set(params):
            raise AssertionError(f"gradient files and parameters differ: {sorted(set(names) ^ set(params))}")
        refs = {n: np.load(os.path.join(grads, n + ".npy")) for n in names}
        # Biases directly in front of a training-mode BatchNorm (patch_embed.0, ds*.conv, ds*.residual) have an
        # exactly zero gradient: the batch mean removes them. Their references are float rounding noise (~1e-9 of
        # the largest gradient), so a relative error means nothing there; check that ours are ~0 on the same
        # absolute scale instead (as the Java OfficialGradientTest does).
        global_max = max(float(np.abs(r).max()) for r in refs.values())
        zero = 1e-5 * global_max
        worst, worst_name, zero_names, zero_worst = 0.0, None, [], 0.0
        for n in names:
            if np.abs(refs[n]).max() < zero:
                zero_names.append(n)
                zero_worst = max(zero_worst, float(params[n].grad.abs().max()) / global_max)
                continue
            err = relative_error(params[n].grad, refs[n])
            if err > worst or worst_name is None:
                worst, worst_name = err, n
        report(name, f"grads ({len(names) - len(zero_names)} tensors, worst {worst_name})", worst, GRAD_TOL)
        report(name, f"zero grads ({len(zero_names)} biases, max|g| / max|all g|)", zero_worst, 1e-5)


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and argv[1] in ("-h", "--help")):
        print(__doc__)
        return 2
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    fixtures = argv[1] if len(argv) == 2 else os.path.join(root, "src", "test", "resources", "fixtures")
    torch.manual_seed(0)
    failures = []

    def report(fixture, what, err, tol):
        ok = err <= tol
        print(f"{fixture:20s} {what:48s} max error {err:.3e}  (tolerance {tol:.0e})  {'ok' if ok else 'FAIL'}")
        if not ok:
            failures.append(f"{fixture} {what}")

    print(f"torch {torch.__version__}, fixtures {os.path.normpath(fixtures)}")
    for f in FIXTURES:
        folder = os.path.join(fixtures, f)
        if not os.path.isdir(folder):
            print(f"missing fixture folder {folder}")
            failures.append(f)
            continue
        check(folder, report)
    if failures:
        print("PARITY FAILED: " + ", ".join(failures))
        return 1
    print("parity ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
