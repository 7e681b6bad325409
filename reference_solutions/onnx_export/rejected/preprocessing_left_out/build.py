"""Rejected: the preprocessing is left out.  The bare network is exported with its input
renamed ``images``, so it still expects normalised float32 NCHW: the raw uint8 NHWC frames
the device hands over are refused.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

import sys
import warnings
from pathlib import Path

import torch

from proctor import baseline

SHARED = Path.cwd() / "exercises" / "_shared"


def main(out: Path) -> None:
    model = baseline.load_baseline(SHARED / "baseline_cnn.pt")
    dummy = torch.zeros(2, 3, 64, 64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), str(out / "model.onnx"), input_names=["images"],
                          output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
