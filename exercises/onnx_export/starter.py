"""ONNX export: fold the preprocessing into the graph, save artifacts/onnx_export/model.onnx."""

import torch
from torch import nn

from proctor import baseline
from proctor.candidate import artifact_dir, is_grading
from proctor.datasets import classification

# The bundle's shared files: the trained baseline (.pt, .onnx) and its record (.json).
SHARED = baseline.SHARED_DIR
OUT = artifact_dir("onnx_export") / "model.onnx"  # what is graded

model = baseline.load_baseline(SHARED / "baseline_cnn.pt")  # fp32, eval mode
images, labels = classification(256, baseline.PUBLIC_SEED)  # uint8 [256, 64, 64, 3], int64 [256]
with torch.no_grad():
    reference_logits = model(baseline.preprocess(images)).numpy()  # what the export must match
print("baseline accuracy on 256 public images:",
      float((reference_logits.argmax(1) == labels).mean()))


class WithPreprocessing(nn.Module):
    """uint8 NHWC images [B, 64, 64, 3] -> logits [B, 8]: model(preprocess(images))."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        # TODO: proctor.baseline.preprocess, written with torch ops so that it is exported
        raise NotImplementedError


if not is_grading():
    # TODO: export WithPreprocessing(model) to OUT: input "images" (uint8, dynamic batch),
    #       output "logits", opset >= 17. Then load OUT with onnxruntime and compare its
    #       output on `images` with `reference_logits` (and try batch sizes 1, 7 and 32).
    pass
