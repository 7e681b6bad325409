"""Structured pruning + fine-tuning: save artifacts/prune/model.onnx."""

import os

import torch
from torch import nn

from proctor import baseline
from proctor.candidate import artifact_dir, is_grading
from proctor.datasets import classification

# The bundle's shared files: the trained baseline (.pt, .onnx) and its record (.json).
SHARED = baseline.SHARED_DIR
OUT = artifact_dir("prune") / "model.onnx"  # what is graded

torch.set_num_threads(os.cpu_count() or 1)
model = baseline.load_baseline(SHARED / "baseline_cnn.pt")  # fp32, eval mode
print("baseline:", baseline.count_parameters(model), "parameters, widths", baseline.WIDTHS)
# model.features[i][0] is the conv of block i (i = 0, 2, 4, 5, 7), model.features[i][1] its BN,
# model.classifier the final nn.Linear.

eval_images, eval_labels = classification(500, baseline.PUBLIC_SEED)  # public split (first 500)
print("baseline accuracy on 500 public images:", baseline.accuracy(model, eval_images, eval_labels))


def prune(model: nn.Module) -> nn.Module:
    """TODO: a smaller proctor.baseline.build_model(widths=...) initialised from `model`."""
    raise NotImplementedError


if not is_grading():
    # TODO: small = prune(model); fine-tune it on classification(n, baseline.TRAIN_SEED)
    #       (preprocess with baseline.preprocess); check its accuracy and parameter count;
    #       export it like the baseline (input float32 [B, 3, 64, 64] with a dynamic batch,
    #       output logits [B, 8], opset 17) to OUT.
    pass
