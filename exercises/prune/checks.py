"""Public checks for prune: loading, I/O, parameter count, accuracy on the public split.
(Hidden: accuracy on hidden images and latency.)

The model is served by ``exercises/_shared/onnx_runner.py``, whose ``describe()`` counts
parameters as the elements of every constant tensor in the file; the checks' helpers are
in ``exercises/_shared/edge_checks.py``.
"""

import sys
import types

from proctor.checks import Outcome, check


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


@check(points=4, kind="size", budget="parameters")
def parameters(ctx):
    """Elements of all constant tensors in the file <= 47,390 (0.35x the baseline's)."""
    budget = ctx.budget("parameters")
    desc = ctx.candidate.describe()
    n, nz = desc["parameters"], desc["nonzero"]
    measured = {"parameters": n, "nonzero": nz, "weight_parameters": desc["weight_parameters"]}
    if ctx.reference is not None:
        base = ctx.reference.describe()["parameters"]
        measured.update(baseline_parameters=base, ratio=round(n / base, 4))
    ok = n <= budget.max
    msg = (f"{n:,} parameters ({nz:,} non-zero), {'within' if ok else 'over'} the "
           f"{budget.max:,.0f} budget")
    if not ok and nz <= budget.max:
        msg += ": zeros still count (remove whole filters/channels instead of masking weights)"
    return Outcome("pass" if ok else "fail", msg, measured, budget.as_dict())


@check(points=2)
def public_accuracy(ctx):
    """Accuracy on the 2,000 public images at most 3 points below the baseline's."""
    _edge(ctx).public_accuracy(ctx, ctx.budget("accuracy_drop").max)
