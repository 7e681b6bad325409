"""Rejected: the pruned PyTorch model saved with ``torch.save`` under the name the
exercise asks for, ``model.onnx`` -- a pickle in a zip archive, not an ONNX model.
``onnx.load`` cannot parse it, so the grader can neither inspect nor run it and every
check fails with "model.onnx is not a readable ONNX model".

The pruning is the reference's (half of every conv block's filters by L1 norm).  This
build leaves out the fine-tune: no check can read the weights of a file that is not
ONNX, so training them would change nothing but the build time.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch import nn

from proctor import baseline

SHARED = Path.cwd() / "exercises" / "_shared"
KEEP = 0.5
CONV_BLOCKS = (0, 2, 4, 5, 7)


@torch.no_grad()
def prune(model: nn.Module, keep: float) -> nn.Module:
    widths = [max(1, round(w * keep)) for w in model.widths]
    small = baseline.build_model(widths=widths)
    prev = torch.arange(3)
    for i, w in zip(CONV_BLOCKS, widths, strict=True):
        conv, bn = model.features[i][0], model.features[i][1]
        sconv, sbn = small.features[i][0], small.features[i][1]
        idx = conv.weight.abs().sum(dim=(1, 2, 3)).argsort(descending=True)[:w].sort().values
        sconv.weight.copy_(conv.weight[idx][:, prev])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(sbn, name).copy_(getattr(bn, name)[idx])
        prev = idx
    small.classifier.weight.copy_(model.classifier.weight[:, prev])
    small.classifier.bias.copy_(model.classifier.bias)
    return small.eval()


def main(out: Path) -> None:
    small = prune(baseline.load_baseline(SHARED / "baseline_cnn.pt"), KEEP)
    torch.save(small, out / "model.onnx")  # the mistake: a PyTorch pickle, not ONNX


if __name__ == "__main__":
    main(Path(sys.argv[1]))
