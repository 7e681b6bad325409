"""Accepted: torch 2.14's default (dynamo) exporter, as a candidate would use it: a dynamic
batch through ``dynamic_shapes`` and the weights left in the external-data file it writes
next to the model (``model.onnx.data``, inside the artifact folder).

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

import sys
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
        x = images.permute(0, 3, 1, 2).float().div(255.0)
        return self.net((x - self.mean) / self.std)


def main(out: Path) -> None:
    model = WithPreprocessing(baseline.load_baseline(SHARED / "baseline_cnn.pt")).eval()
    dummy = torch.zeros(2, 64, 64, 3, dtype=torch.uint8)
    batch = torch.export.Dim("batch", min=1, max=1024)
    program = torch.onnx.export(model, (dummy,), input_names=["images"],
                                output_names=["logits"], dynamic_shapes=({0: batch},),
                                opset_version=18, dynamo=True, external_data=True)
    program.save(str(out / "model.onnx"), external_data=True)
    assert (out / "model.onnx.data").is_file(), "expected the weights in model.onnx.data"


if __name__ == "__main__":
    main(Path(sys.argv[1]))
