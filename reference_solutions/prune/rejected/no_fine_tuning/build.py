"""Rejected: the reference's structured L1 filter pruning (half of every conv block's
filters) exported straight away, without fine-tuning.  Small and fast, but removing half
the filters of every layer at once breaks the features the classifier relies on.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

from __future__ import annotations

import sys
import warnings
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
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(small, (torch.zeros(2, 3, 64, 64),), str(out / "model.onnx"),
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
