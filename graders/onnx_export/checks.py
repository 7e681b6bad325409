"""Hidden checks for onnx_export: opset and domains, dynamic batch, the logits against the
fp32 baseline (``ctx.reference``: exercises/_shared/baseline_cnn.onnx, served by the same
runner) on hidden images, and where the weights live.

The reference takes preprocessed float32 NCHW; the candidate takes the raw uint8 NHWC
images.  ``preprocess`` here is the numpy twin of ``proctor.baseline.preprocess``
(exercises/_shared/edge_checks.py), so the comparison is the candidate's graph against
``baseline(preprocess(images))``.
"""

import sys
import types

import numpy as np

from proctor.checks import Outcome, check

N_MATCH = 256
BATCHES = (1, 7, 32)
MIN_OPSET = 17


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


@check(points=3)
def opset_and_domains(ctx):
    """Opset >= 17 of the default ONNX domain, and no other domain (no contrib/custom ops)."""
    desc = ctx.candidate.describe()
    opsets = desc["opsets"]
    version = opsets.get("ai.onnx")
    problems = []
    if version is None:
        problems.append(f"the model imports no default-domain opset: {opsets}")
    elif version < MIN_OPSET:
        problems.append(f"default-domain opset is {version}; expected >= {MIN_OPSET}")
    foreign = [op for op in desc["op_types"] if "::" in op]
    if foreign:
        problems.append(f"ops outside the default domain: {foreign}")
    others = sorted(d for d in opsets if d != "ai.onnx")
    if others:
        problems.append(f"the model imports opsets of other domains: {others}")
    if problems:
        raise AssertionError("; ".join(problems))


@check(points=4)
def dynamic_batch(ctx):
    """The batch dim is dynamic: batches of 1, 7 and 32 run and agree row by row."""
    edge = _helpers(ctx)
    desc = ctx.candidate.describe()
    b = edge.batch_dim(desc)
    if isinstance(b, int):
        raise AssertionError(f"the input's batch dimension is fixed at {b}; export it as a "
                             "dynamic axis (dynamic_axes / dynamic_shapes)")
    images, _ = edge.hidden_split(ctx, max(BATCHES), "batches")
    full = edge.check_logits(ctx.candidate.logits(images), len(images), "logits, batch 32")
    for n in BATCHES[:-1]:
        part = edge.check_logits(ctx.candidate.logits(images[:n]), n, f"logits, batch {n}")
        diff = float(np.abs(part - full[:n]).max())
        if diff > 1e-4:
            raise AssertionError(f"a batch of {n} and a batch of 32 give different logits "
                                 f"for the same images (max abs difference {diff:.3g})")


@check(points=5, kind="accuracy", budget="logit_error")
def matches_baseline(ctx):
    """Logits equal baseline(preprocess(images)) on 256 hidden images (max abs diff <= 1e-4)."""
    edge = _helpers(ctx)
    budget = ctx.budget("logit_error")
    images, labels = edge.hidden_split(ctx, N_MATCH)
    want = edge.run_logits(ctx.reference, edge.preprocess(images),
                           ctx.reference.describe())
    got = edge.run_logits(ctx.candidate, images, ctx.candidate.describe())
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    worst = float(diff.max())
    measured = {"max_abs_diff": worst, "mean_abs_diff": float(diff.mean()),
                "images": len(images),
                "top1_agreement": float((got.argmax(1) == want.argmax(1)).mean()),
                "accuracy": edge.accuracy(got, labels),
                "baseline_accuracy": edge.accuracy(want, labels)}
    if worst <= budget.max:
        return Outcome("pass", f"max abs logit difference {worst:.2g} on {len(images)} hidden "
                               f"images (budget {budget.max:g})", measured, budget.as_dict())
    i = int(np.unravel_index(diff.argmax(), diff.shape)[0])
    return Outcome("fail", f"logits differ from baseline(preprocess(images)) by up to "
                           f"{worst:.3g} (budget {budget.max:g}); image {i}: got "
                           f"{np.round(got[i], 4).tolist()}, expected "
                           f"{np.round(want[i], 4).tolist()}", measured, budget.as_dict())


@check(points=1)
def self_contained(ctx):
    """The model is one file, or its external data sits inside artifacts/onnx_export/."""
    edge = _helpers(ctx)
    desc = ctx.candidate.describe()
    if desc["file"] != "model.onnx":
        raise AssertionError(f"the model file is {desc['file']!r}, not model.onnx")
    total, files = edge.artifact_bytes(ctx.artifact_dir, desc)
    external = [t["name"] for t in desc["tensors"] if t["external"]]
    how = (f"{len(external)} tensors in {', '.join(desc['external_data'])}" if external
           else "one self-contained file")
    return Outcome("pass", f"{how}; {total:,} bytes in all", {"bytes": total, "files": files})
