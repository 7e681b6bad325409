"""Hidden checks for prune: accuracy drop against the baseline on hidden images (both
models evaluated here, in the same run) and latency at batch 1 relative to the baseline
(ctx.latency: side by side, one core, one thread).

``ctx.reference`` is exercises/_shared/baseline_cnn.onnx served by the same runner.
"""

import sys
import types

from proctor.checks import check

N_HIDDEN = 2000
BATCH = 1


def _helpers(ctx):
    """The public helper module, for these hidden checks (loaded once, no bytecode)."""
    path = ctx.exercise.public_dir.parent / "_shared" / "edge_checks.py"
    key = f"_proctor_edge_checks:{path}"
    if key not in sys.modules:
        module = types.ModuleType("edge_checks")
        module.__file__ = str(path)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
        sys.modules[key] = module
    return sys.modules[key]


@check(points=6, kind="accuracy", budget="accuracy_drop")
def accuracy_drop(ctx):
    """Baseline minus pruned accuracy on 2,000 hidden images <= 3.0 points."""
    return _helpers(ctx).accuracy_drop(ctx, "accuracy_drop", N_HIDDEN)


@check(points=5, kind="latency", budget="latency")
def latency(ctx):
    """One image (batch 1) at most 0.75x the baseline's time, on fresh hidden images, both
    without ONNX Runtime's NCHWc layout (the runner's LAYOUT_NEUTRAL: host-independent)."""
    return _helpers(ctx).latency(ctx, "latency", batch=BATCH)
