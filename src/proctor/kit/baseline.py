"""The public baseline classifier shipped with the compression exercises.

Candidates get this architecture, its trained weights (``baseline_cnn.pt``,
``baseline_cnn.onnx``) and the preprocessing below, and are asked to make it
smaller/faster (int8 quantization, structured pruning, export) while keeping
accuracy on the synthetic shape task from :func:`proctor.kit.datasets.classification`.

Design choices, and why:

* Plain ``Conv2d -> BatchNorm2d -> ReLU`` blocks, ``MaxPool2d``, a global
  ``AdaptiveMaxPool2d`` and one ``Linear``; no residuals, depthwise convs or
  attention.  Every conv's output channels can be removed structurally by
  slicing the conv, its BN, and the next layer's input channels, and every op
  has a well-trodden int8 kernel in onnxruntime and torch.ao.
* ~136K parameters / ~25M MACs per 64x64 image: big enough that int8 kernels
  beat fp32 on a CPU (tiny models are dominated by quantize/dequantize
  overhead and show no speed-up), small enough to train from scratch in a
  few minutes on two cores.
* Preprocessing is part of the public contract, not of the network: the
  network (and its ONNX export) takes normalised float32 NCHW, and
  :func:`preprocess` is the one documented way to get there from the uint8
  NHWC images the datasets produce.  Keeping it out of the graph means
  candidates' quantization calibration sees the same input distribution the
  graders feed.

``torch`` is imported on first use of the model's functions (``baseline_model``), and
the model files' paths are resolved on first access: importing this module is cheap
and has no side effects.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from proctor.candidate.api import bundle_dir
from proctor.paths import checkout_root

__all__ = [
    "MEAN",
    "STD",
    "WIDTHS",
    "NUM_CLASSES",
    "INPUT_SIZE",
    "TRAIN_SEED",
    "PUBLIC_SEED",
    "PUBLIC_N",
    "SHARED_DIR",
    "STATE_DICT_PATH",
    "ONNX_PATH",
    "META_PATH",
    "BaselineCNN",
    "build_model",
    "preprocess",
    "load_baseline",
    "count_parameters",
    "predict_logits",
    "accuracy",
]

#: Per-channel RGB mean/std (of x/255) used by :func:`preprocess`.  Fixed
#: constants (measured once on the training distribution and rounded) so the
#: preprocessing can never drift between training, export and grading.
MEAN: tuple[float, float, float] = (0.5, 0.5, 0.5)
STD: tuple[float, float, float] = (0.25, 0.25, 0.25)

#: Output channels of the five conv blocks of the shipped model.  A pruned
#: model is ``build_model(widths=...)`` with smaller numbers.
WIDTHS: tuple[int, int, int, int, int] = (16, 32, 64, 64, 128)

NUM_CLASSES: int = 8
INPUT_SIZE: int = 64

#: Seed of the training split (``datasets.classification(n, TRAIN_SEED)``).
TRAIN_SEED: int = 1001
#: Seed and size of the public evaluation split candidates may use.  Graders
#: use other, undisclosed seeds from the same generator.
PUBLIC_SEED: int = 2002
PUBLIC_N: int = 2000

def _shared_dir(checkout: Path | None = None) -> Path:
    """The shipped model files are data, not package data: they sit in the library
    checkout's ``exercises/_shared`` (editable install, grader) or in the candidate's
    bundle (the container installs proctor from a wheel). An explicit ``PROCTOR_BUNDLE``
    wins, so a candidate always evaluates against the files their bundle holds."""
    checkout = checkout or checkout_root() or Path.cwd()
    shared = checkout / "exercises" / "_shared"
    if os.environ.get("PROCTOR_BUNDLE") or not shared.is_dir():
        return bundle_dir() / "exercises" / "_shared"
    return shared


_PATHS = {"STATE_DICT_PATH": "baseline_cnn.pt", "ONNX_PATH": "baseline_cnn.onnx",
          "META_PATH": "baseline.json"}
_MODEL = ("BaselineCNN", "build_model", "preprocess", "load_baseline", "count_parameters",
          "predict_logits", "accuracy")


def __getattr__(name: str) -> Any:
    """``SHARED_DIR`` and the model files' paths (the trained fp32 state dict, to load with
    ``weights_only=True``; the self-contained fp32 ONNX export, input ``input`` [N,3,64,64]
    float32 already preprocessed, output ``logits`` [N, 8], dynamic batch, opset 17; the
    training record), and the torch-based model functions, all resolved on first use."""
    if name == "SHARED_DIR":
        return _shared_dir()
    if name in _PATHS:
        return _shared_dir() / _PATHS[name]
    if name in _MODEL:
        from proctor.kit import baseline_model
        return getattr(baseline_model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
