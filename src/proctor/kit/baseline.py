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

``torch`` is imported at module level: this module is only used where the
``ml`` extra is installed.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

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


#: Directory of the shipped public model files (see ``_shared_dir``).
SHARED_DIR: Path = _shared_dir()
#: Trained fp32 state dict (load with ``weights_only=True``).
STATE_DICT_PATH: Path = SHARED_DIR / "baseline_cnn.pt"
#: Self-contained fp32 ONNX export: input ``input`` [N,3,64,64] float32
#: (already preprocessed), output ``logits`` [N, 8]; dynamic batch; opset 17.
ONNX_PATH: Path = SHARED_DIR / "baseline_cnn.onnx"
#: Training record: parameter count, seeds, accuracies, training time.
META_PATH: Path = SHARED_DIR / "baseline.json"


def _block(cin: int, cout: int) -> nn.Sequential:
    """3x3 conv (no bias: BN follows) -> BN -> ReLU, keeping spatial size."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class BaselineCNN(nn.Module):
    """Small VGG-style CNN for 64x64 inputs.

    Layout (``w = widths``)::

        features.0  block(3,    w0)   64x64
        features.1  maxpool           -> 32x32
        features.2  block(w0,   w1)
        features.3  maxpool           -> 16x16
        features.4  block(w1,   w2)
        features.5  block(w2,   w3)
        features.6  maxpool           -> 8x8
        features.7  block(w3,   w4)
        pool        global max        -> w4
        classifier  linear(w4, num_classes)

    Each block is ``Sequential(Conv2d, BatchNorm2d, ReLU)``, so a block's conv
    is ``features[i][0]`` and its BN ``features[i][1]``.
    """

    def __init__(self, num_classes: int = NUM_CLASSES, widths: Sequence[int] = WIDTHS) -> None:
        super().__init__()
        if len(widths) != 5:
            raise ValueError("widths must have 5 entries")
        w0, w1, w2, w3, w4 = (int(w) for w in widths)
        self.widths = (w0, w1, w2, w3, w4)
        self.features = nn.Sequential(
            _block(3, w0),
            nn.MaxPool2d(2),
            _block(w0, w1),
            nn.MaxPool2d(2),
            _block(w1, w2),
            _block(w2, w3),
            nn.MaxPool2d(2),
            _block(w3, w4),
        )
        # Global *max* pool: the object is small and surrounded by clutter;
        # averaging dilutes its evidence, and with average pooling training
        # sat at chance level for 1-2 epochs before taking off.
        self.pool = nn.AdaptiveMaxPool2d(1)
        self.classifier = nn.Linear(w4, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits [N, num_classes] from preprocessed float32 [N, 3, 64, 64]."""
        x = self.features(x)
        x = torch.flatten(self.pool(x), 1)
        return self.classifier(x)


def build_model(num_classes: int = NUM_CLASSES, widths: Sequence[int] = WIDTHS) -> nn.Module:
    """A freshly initialised :class:`BaselineCNN` (the shipped architecture by default)."""
    return BaselineCNN(num_classes=num_classes, widths=widths)


def preprocess(images_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 NHWC ``[B, 64, 64, 3]`` -> normalised float32 NCHW ``[B, 3, 64, 64]``.

    ``(x / 255 - MEAN) / STD`` per channel.  Accepts a numpy array too (it is
    converted with ``torch.as_tensor``).  This is exactly what the network and
    its ONNX export expect as ``input``.
    """
    x = torch.as_tensor(images_uint8)
    if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected uint8 [B, H, W, 3], got {x.dtype} {tuple(x.shape)}")
    x = x.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
    mean = torch.tensor(MEAN, dtype=torch.float32).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=torch.float32).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (BN running stats excluded)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def load_baseline(path: Path | str | None = None) -> nn.Module:
    """The shipped trained baseline in eval mode, loaded with ``weights_only=True``.

    ``weights_only=True`` because a state dict is plain tensors: never unpickle
    arbitrary objects from a file a candidate could have replaced.
    """
    p = Path(path) if path is not None else STATE_DICT_PATH
    state = torch.load(p, map_location="cpu", weights_only=True)
    model = build_model()
    model.load_state_dict(state)
    model.eval()
    return model


@torch.no_grad()
def predict_logits(
    model: nn.Module, images_uint8: torch.Tensor, batch_size: int = 250
) -> torch.Tensor:
    """Logits for uint8 NHWC images, preprocessing in batches (model put in eval mode).

    Batching bounds memory; the result does not depend on ``batch_size`` up
    to float rounding.
    """
    model.eval()
    x = torch.as_tensor(images_uint8)
    outs = [model(preprocess(x[i : i + batch_size])) for i in range(0, x.shape[0], batch_size)]
    return torch.cat(outs) if outs else torch.zeros((0, NUM_CLASSES))


def accuracy(model: nn.Module, images_uint8: torch.Tensor, labels: torch.Tensor) -> float:
    """Top-1 accuracy of ``model`` on uint8 NHWC images."""
    pred = predict_logits(model, images_uint8).argmax(dim=1)
    return float((pred == torch.as_tensor(labels)).to(torch.float64).mean())
