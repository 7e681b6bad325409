"""Public checks for quantize_int8: loading, I/O, accuracy on the public split, size, and
how the weights are stored.  (Hidden: accuracy on hidden images and latency.)

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


@check(points=3, kind="size", budget="model_size")
def model_size(ctx):
    """Bytes of model.onnx (+ external data) <= 0.40x the fp32 baseline file."""
    return _edge(ctx).size_ratio(ctx, "model_size")


@check(points=3)
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
