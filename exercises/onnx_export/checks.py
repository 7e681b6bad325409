"""Public checks for onnx_export: the file loads, the I/O contract, public accuracy.

The model is served by ``exercises/_shared/onnx_runner.py`` (``ctx.candidate.logits``,
``ctx.candidate.describe``); helpers are in ``exercises/_shared/edge_checks.py``.
"""

import sys
import types

from proctor.checks import check


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


@check(points=2)
def loads(ctx):
    """The file is a valid ONNX model that ONNX Runtime can load and run on one batch."""
    edge = _edge(ctx)
    desc = ctx.candidate.describe()
    images, _ = edge.public_split(edge.feed_batch(desc, 1))
    edge.check_logits(ctx.candidate.logits(images), len(images))


@check(points=3)
def io_contract(ctx):
    """Single input 'images' uint8 [B, 64, 64, 3]; first output 'logits' float32 [B, 8]."""
    edge = _edge(ctx)
    problems = edge.io_problems(ctx.candidate.describe(), "images", "uint8", edge.IMAGE_SHAPE,
                                "logits")
    if problems:
        raise AssertionError("; ".join(problems))


@check(points=2)
def public_accuracy(ctx):
    """Accuracy on the public split equals the baseline's (within 0.25 points)."""
    edge = _edge(ctx)
    images, labels = edge.public_split()
    acc = edge.accuracy(edge.run_logits(ctx.candidate, images, ctx.candidate.describe()), labels)
    want = edge.meta()["public"]["accuracy_onnx"]
    if abs(acc - want) > 0.0025:
        raise AssertionError(
            f"accuracy on the {len(labels)} public images is {acc:.4f}, the baseline's is "
            f"{want:.4f}: the exported graph does not compute model(preprocess(images)) "
            "(check the layout, the /255 and the mean/std)")
