"""Rejected: right in every way but the opset: ``opset_version=11`` (from an old tutorial).

Usage: python build.py OUT_DIR   (cwd: the repository root; writes OUT_DIR/model.onnx)
"""

import sys
import warnings
from pathlib import Path

import torch
from torch import nn

from proctor import baseline

SHARED = Path.cwd() / "exercises" / "_shared"


class WithPreprocessing(nn.Module):
    """uint8 NHWC -> logits: ``net(preprocess(images))`` as graph ops."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(baseline.MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(baseline.STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        return self.net((x - self.mean) / self.std)


def main(out: Path) -> None:
    model = WithPreprocessing(baseline.load_baseline(SHARED / "baseline_cnn.pt")).eval()
    dummy = torch.zeros(2, 64, 64, 3, dtype=torch.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), str(out / "model.onnx"), input_names=["images"],
                          output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=11, dynamo=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
