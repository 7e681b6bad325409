"""Public checks for quantize_int8: loading, I/O, accuracy on the public split, size, how
the weights are stored, and the stated rule for the target CPU (the 7-bit weight range).
(Hidden: accuracy on hidden images and latency.)

The model is served by ``exercises/_shared/onnx_runner.py``; the checks' helpers are in
``exercises/_shared/edge_checks.py``.
"""

import sys
import types

from proctor.checks import check

EIGHT_BIT = ("int8", "uint8")
CONV_OPS = ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "FusedConv")
MIN_8BIT_SHARE = 0.95


def _edge(ctx):
    """exercises/_shared/edge_checks.py, loaded once (no bytecode written next to it)."""
    path = ctx.exercise.public_dir.parent / "_shared" / "edge_checks.py"
    key = f"_proctor_edge_checks:{path}"
    if key not in sys.modules:
        module = types.ModuleType("edge_checks")
        module.__file__ = str(path)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
        sys.modules[key] = module
    return sys.modules[key]


@check(points=1)
def loads(ctx):
    """ONNX Runtime loads the file and runs it on a batch of preprocessed images."""
    _edge(ctx).loads(ctx)


@check(points=2)
def io_contract(ctx):
    """Same I/O as the baseline: float32 [B, 3, 64, 64] in (dynamic B), float32 [B, 8] out."""
    _edge(ctx).same_io_as_baseline(ctx)


@check(points=2)
def public_accuracy(ctx):
    """Accuracy on the 2,000 public images at most 1 point below the fp32 baseline's."""
    _edge(ctx).public_accuracy(ctx, ctx.budget("accuracy_drop").max)


@check(points=2, kind="size", budget="model_size")
def model_size(ctx):
    """Bytes of model.onnx (+ external data) <= 0.40x the fp32 baseline file."""
    return _edge(ctx).size_ratio(ctx, "model_size")


@check(points=2)
def int8_weights(ctx):
    """>= 95% of the conv/linear weight elements stored as 8-bit integers (int8 or uint8)."""
    weights = ctx.candidate.describe()["weights"]
    if not any(w["op"] in CONV_OPS for w in weights):
        raise AssertionError("the model has no convolution")
    seen, total, eight = set(), 0, 0
    for w in weights:
        if w["stored"] is None or w["stored"] in seen:
            continue
        seen.add(w["stored"])
        total += w["numel"]
        eight += w["numel"] if w["stored_dtype"] in EIGHT_BIT else 0
    share = eight / max(total, 1)
    if share < MIN_8BIT_SHARE:
        stored = sorted({str(w["stored_dtype"] or "computed") for w in weights})
        raise AssertionError(
            f"only {share:.1%} of the conv/linear weight elements are stored as 8-bit integers "
            f"({eight:,} of {total:,}; weights stored as {', '.join(stored)}); at least "
            f"{MIN_8BIT_SHARE:.0%} must be")


REDUCED_RANGE = (-64, 64)  # symmetric 7-bit: 2 x 255 x 64 fits in int16


@check(points=2)
def saturation_safe(ctx):
    """The stated rule for the target CPU (AVX2 without VNNI): int8 conv/linear weights
    use the reduced 7-bit range, every value in [-64, 64] (onnxruntime.quantization's
    reduce_range=True); uint8 weights are exempt. Judged from the file, on any host."""
    lo, hi = REDUCED_RANGE
    bad, seen = [], set()
    for w in ctx.candidate.describe()["weights"]:
        if w["stored_dtype"] != "int8" or w["stored"] in seen or w["range"] is None:
            continue
        seen.add(w["stored"])
        wmin, wmax = w["range"]
        if wmin < lo or wmax > hi:
            bad.append(f"{w['stored']} ({w['op']}) holds values in [{wmin}, {wmax}]")
    if bad:
        raise AssertionError(
            f"{len(bad)} int8 weight tensor(s) use the full 8-bit range, e.g. "
            + "; ".join(bad[:3]) + f": on the target CPU (AVX2 without VNNI) the u8s8 kernels "
            f"add pairs of products in 16 bits and saturate; keep int8 weights in "
            f"[{lo}, {hi}] (reduce_range=True) or store them as uint8")
