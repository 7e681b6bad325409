"""Rejected: unstructured magnitude pruning -- 80% of the conv and linear weights set to
zero (the smallest by magnitude, per layer, ``torch.nn.utils.prune.l1_unstructured``), the
masks made permanent, exported like the baseline.  The dense tensors are all still in the
file and dense kernels multiply the zeros as fast as any other number: the parameter count
and the latency do not move.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import torch
from torch import nn
from torch.nn.utils import prune

from proctor import baseline

SHARED = Path.cwd() / "exercises" / "_shared"
AMOUNT = 0.8


def main(out: Path) -> None:
    model = baseline.load_baseline(SHARED / "baseline_cnn.pt")
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            prune.l1_unstructured(m, "weight", amount=AMOUNT)
            prune.remove(m, "weight")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model.eval(), (torch.zeros(2, 3, 64, 64),), str(out / "model.onnx"),
                          input_names=["input"], output_names=["logits"],
                          dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
