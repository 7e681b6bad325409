"""Rejected: the layout change and the /255 are in the graph, but the per-channel
``(x - MEAN) / STD`` is forgotten: the network sees inputs in [0, 1] instead of [-2, 2].

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

import sys
import warnings
from pathlib import Path

import torch
from torch import nn

from proctor import baseline

SHARED = Path.cwd() / "exercises" / "_shared"


class WithPreprocessing(nn.Module):
    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(baseline.MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(baseline.STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        return self.net(x)  # forgot (x - MEAN) / STD


def main(out: Path) -> None:
    model = WithPreprocessing(baseline.load_baseline(SHARED / "baseline_cnn.pt")).eval()
    dummy = torch.zeros(2, 64, 64, 3, dtype=torch.uint8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), str(out / "model.onnx"), input_names=["images"],
                          output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
