"""Rejected (hostile): a correct export whose external-data entries are rewritten to point
outside the artifact folder, at ``../../graders/onnx_export/seed.txt``.  The runner must
refuse it before onnxruntime (or onnx) opens any file, so every check fails with the
same message naming the location.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

import sys
import warnings
from pathlib import Path

import onnx
import torch
from onnx.external_data_helper import convert_model_to_external_data
from torch import nn

from proctor import baseline

SHARED = Path.cwd() / "exercises" / "_shared"
ESCAPE = "../../graders/onnx_export/seed.txt"


class WithPreprocessing(nn.Module):
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
    tmp = out / "plain.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (dummy,), str(tmp), input_names=["images"],
                          output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)
    proto = onnx.load(str(tmp))
    tmp.unlink()
    convert_model_to_external_data(proto, all_tensors_to_one_file=True, location="w.data",
                                   size_threshold=0)
    for t in proto.graph.initializer:
        t.ClearField("raw_data")
        for e in t.external_data:
            if e.key == "location":
                e.value = ESCAPE
    # serialise the proto as is (onnx.save would try to write the external data)
    (out / "model.onnx").write_bytes(proto.SerializeToString())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
