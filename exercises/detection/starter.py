"""Detection exercise: train a small detector, save its weights, implement predict().

A suggested plan (CenterNet-style; any approach that meets the budgets is fine):
1. make_targets: boxes and labels -> per-cell training targets on the stride-4 grid
   (e.g. a Gaussian bump per object centre in its class heatmap, and the box extent);
2. loss_fn: e.g. a focal loss on the heatmaps plus an L1 loss on the box extents;
3. train a few minutes and save the weights under artifact_dir("detection");
4. predict: run the model, keep local maxima of the heatmaps, turn them into boxes.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from proctor.candidate import artifact_dir, is_grading
from proctor.cocoeval import evaluate
from proctor.datasets import detection

NUM_CLASSES = 3  # 0 circle, 1 square, 2 triangle
TRAIN_SEED, VAL_SEED = 2024, 2025
STRIDE = 4
WEIGHTS = artifact_dir("detection") / "model.pt"
TRAIN = False  # set True to train (minutes); grading never trains, whatever this says


def conv_bn_relu(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Detector(nn.Module):
    """A suggested network (~121K parameters; change it freely).

    [B, 3, 96, 96] floats in [0, 1] -> [B, NUM_CLASSES + 4, 24, 24]: for each cell of the
    stride-4 grid, NUM_CLASSES heatmap logits and 4 numbers describing a box (your encoding,
    e.g. the distances from the cell centre to the box edges, in cells).
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        self.stride4 = nn.Sequential(  # 96 -> 48 -> 24
            conv_bn_relu(3, 16, 2), conv_bn_relu(16, 16),
            conv_bn_relu(16, w, 2), conv_bn_relu(w, w))
        self.stride8 = nn.Sequential(  # 24 -> 12, a wide receptive field for the big shapes
            conv_bn_relu(w, 2 * w, 2), conv_bn_relu(2 * w, 2 * w),
            conv_bn_relu(2 * w, 2 * w, 1, 2))
        self.lateral = nn.Conv2d(2 * w, w, 1)
        self.fuse = conv_bn_relu(w, w)
        self.head = nn.Conv2d(w, NUM_CLASSES + 4, 1)
        nn.init.constant_(self.head.bias[:NUM_CLASSES], -2.19)  # start at probability ~0.1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.stride4((x - 0.5) / 0.25)
        b = self.stride8(a)
        f = self.fuse(a + F.interpolate(self.lateral(b), scale_factor=2, mode="nearest"))
        return self.head(f)


def make_targets(targets: list[dict]):
    """A batch's ground truth (dicts of boxes [K, 4] and labels [K]) -> what loss_fn needs."""
    raise NotImplementedError


def loss_fn(out: torch.Tensor, batch_targets) -> torch.Tensor:
    """The model's output [B, NUM_CLASSES + 4, 24, 24] against make_targets(...)."""
    raise NotImplementedError


def train(model: nn.Module, images: np.ndarray, targets: list[dict], steps: int = 4500,
          batch_size: int = 16, lr: float = 3e-3) -> nn.Module:
    """A plain training loop (add augmentation, a schedule, checkpoints as you see fit)."""
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    opt = torch.optim.AdamW(model.parameters(), lr, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    model.train()
    started = time.monotonic()
    for step in range(1, steps + 1):
        idx = rng.choice(len(images), batch_size, replace=False)
        x = x_all[idx].float() / 255
        loss = loss_fn(model(x), make_targets([targets[i] for i in idx]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step}  loss {loss.item():.3f}  {time.monotonic() - started:.0f} s")
    return model.eval()


def predict(images: np.ndarray) -> list[dict]:
    """uint8 [B, 96, 96, 3] -> B dicts {"boxes": [K, 4] (x1, y1, x2, y2) px, "scores": [K],
    "labels": [K]}.

    While grading, nothing above has trained: load the weights from WEIGHTS (once), e.g.
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True)),
    and remember model.eval().
    """
    raise NotImplementedError


if TRAIN and not is_grading():
    torch.set_num_threads(2)
    train_images, train_targets = detection(8000, TRAIN_SEED)
    val_images, val_targets = detection(200, VAL_SEED)
    model = train(Detector(), train_images, train_targets)
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), WEIGHTS)
    print(evaluate(predict(val_images), val_targets, NUM_CLASSES))
