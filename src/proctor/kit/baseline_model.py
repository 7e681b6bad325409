"""The baseline CNN itself, in torch: built, loaded, fed and scored.

Imported on first use through ``proctor.kit.baseline`` (whose constants it uses), so that
importing the kit never imports torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from proctor.kit import baseline as _b
from proctor.kit.baseline import INPUT_SIZE, MEAN, NUM_CLASSES, STD, WIDTHS  # noqa: F401


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
    p = Path(path) if path is not None else _b.STATE_DICT_PATH
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
