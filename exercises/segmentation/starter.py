"""Segmentation exercise: train a small network, save its weights, implement predict().

A suggested plan (any approach that meets the budgets is fine):
1. loss_fn: per-pixel cross-entropy, with some care for the rare cross (class 4);
2. augment: flips / 90-degree rotations of images and masks together;
3. train a few minutes and save the weights under artifact_dir("segmentation");
4. predict: run the model, take the most likely class of every pixel.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from proctor.candidate import artifact_dir, is_grading
from proctor.kit.segmentation import SEG_CLASS_NAMES, evaluate, segmentation

NUM_CLASSES = len(SEG_CLASS_NAMES)  # 0 background, 1 circle, 2 square, 3 triangle, 4 cross
TRAIN_SEED, VAL_SEED = 2024, 2025
WEIGHTS = artifact_dir("segmentation") / "model.pt"
TRAIN = False  # set True to train (minutes); grading never trains, whatever this says


def conv_bn_relu(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """A suggested network (~111K parameters; change it freely).

    [B, 3, 64, 64] floats in [0, 1] -> [B, NUM_CLASSES, 64, 64] logits. The encoder halves
    the resolution three times (64 -> 8 px: the class of a pixel depends on the whole shape
    around it); the decoder goes back up, adding the encoder's features of each resolution
    (U-Net skips) so that outlines stay sharp.
    """

    def __init__(self, widths: tuple[int, int, int, int] = (8, 24, 48, 48)) -> None:
        super().__init__()
        w1, w2, w3, w4 = widths
        self.enc1 = nn.Sequential(conv_bn_relu(3, w1), conv_bn_relu(w1, w1))         # 64 px
        self.enc2 = nn.Sequential(conv_bn_relu(w1, w2, 2), conv_bn_relu(w2, w2))     # 32 px
        self.enc3 = nn.Sequential(conv_bn_relu(w2, w3, 2), conv_bn_relu(w3, w3))     # 16 px
        self.enc4 = nn.Sequential(conv_bn_relu(w3, w4, 2),                           # 8 px
                                  conv_bn_relu(w4, w4, dilation=2))
        self.lat4 = nn.Conv2d(w4, w3, 1)
        self.dec3 = conv_bn_relu(w3, w3)
        self.lat3 = nn.Conv2d(w3, w2, 1)
        self.dec2 = conv_bn_relu(w2, w2)
        self.lat2 = nn.Conv2d(w2, w1, 1)
        self.dec1 = conv_bn_relu(w1, w1)
        self.head = nn.Conv2d(w1, NUM_CLASSES, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.enc1((x - 0.5) / 0.25)
        b = self.enc2(a)
        c = self.enc3(b)
        c = self.dec3(c + F.interpolate(self.lat4(self.enc4(c)), scale_factor=2, mode="nearest"))
        b = self.dec2(b + F.interpolate(self.lat3(c), scale_factor=2, mode="nearest"))
        a = self.dec1(a + F.interpolate(self.lat2(b), scale_factor=2, mode="nearest"))
        return self.head(a)


def loss_fn(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """logits [B, NUM_CLASSES, H, W] against masks [B, H, W] (int64 class ids)."""
    raise NotImplementedError


def augment(x: torch.Tensor, y: torch.Tensor, rng: np.random.Generator):
    """A random transform of a batch of images [B, 3, H, W] and masks [B, H, W]."""
    raise NotImplementedError


def train(model: nn.Module, images: np.ndarray, masks: np.ndarray, steps: int = 3000,
          batch_size: int = 16, lr: float = 3e-3) -> nn.Module:
    """A plain training loop (add a schedule, checkpoints as you see fit)."""
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    y_all = torch.from_numpy(masks)
    opt = torch.optim.AdamW(model.parameters(), lr, weight_decay=1e-4)
    rng = np.random.default_rng(0)
    model.train()
    started = time.monotonic()
    for step in range(1, steps + 1):
        idx = torch.from_numpy(rng.choice(len(images), batch_size, replace=False))
        x, y = augment(x_all[idx].float() / 255, y_all[idx], rng)
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0:
            print(f"step {step}  loss {loss.item():.3f}  {time.monotonic() - started:.0f} s")
    return model.eval()


def predict(images: np.ndarray) -> np.ndarray:
    """uint8 [N, 64, 64, 3] -> int64 [N, 64, 64] class ids.

    While grading, nothing above has trained: load the weights from WEIGHTS (once), e.g.
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True)),
    and remember model.eval().
    """
    raise NotImplementedError


if TRAIN and not is_grading():
    torch.set_num_threads(2)
    train_images, train_masks = segmentation(8000, TRAIN_SEED)
    val_images, val_masks = segmentation(300, VAL_SEED)
    model = train(UNet(), train_images, train_masks)
    WEIGHTS.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), WEIGHTS)
    print(evaluate(predict(val_images), val_masks))
