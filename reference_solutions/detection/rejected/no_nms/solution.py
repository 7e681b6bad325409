"""Rejected: the detection reference without peak extraction (no NMS).

The 100 best heatmap *cells* per image become detections, not the local maxima: each
object is reported several times, by its centre cell and the neighbours whose score
is only slightly lower, so the duplicates are false positives that outrank weaker
true objects.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from proctor.candidate import artifact_dir, is_grading
from proctor.datasets import detection

NUM_CLASSES = 3
STRIDE = 4
TRAIN_SEED, VAL_SEED = 2024, 2025
WEIGHTS = "model.pt"
MAX_DETS = 100
MIN_SCORE = 0.02
TRAIN = False  # set True in the notebook to retrain (minutes); grading never trains


def conv_bn_relu(cin: int, cout: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class Detector(nn.Module):
    """[B, 3, H, W] floats in [0, 1] -> [B, NUM_CLASSES + 4, H / 4, W / 4] (H, W multiples of 8)."""

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
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
        nn.init.normal_(self.head.weight, std=0.01)
        nn.init.constant_(self.head.bias[:NUM_CLASSES], -2.19)  # prior probability 0.1
        nn.init.constant_(self.head.bias[NUM_CLASSES:], 1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = self.stride4((x - 0.5) / 0.25)
        b = self.stride8(a)
        f = self.fuse(a + F.interpolate(self.lateral(b), scale_factor=2, mode="nearest"))
        return self.head(f)


# ---------------------------------------------------------------------------- training


def make_targets(targets: list[dict], size: int = 96) -> tuple[np.ndarray, ...]:
    """Heatmaps [B, C, g, g], edge distances [B, 4, g, g] and their weights [B, g, g]."""
    g = size // STRIDE
    n = len(targets)
    heat = np.zeros((n, NUM_CLASSES, g, g), np.float32)
    reg = np.zeros((n, 4, g, g), np.float32)
    weight = np.zeros((n, g, g), np.float32)
    ys, xs = np.mgrid[0:g, 0:g] + 0.5
    for i, t in enumerate(targets):
        for box, label in zip(np.asarray(t["boxes"]) / STRIDE, t["labels"], strict=True):
            x1, y1, x2, y2 = (float(v) for v in box)
            ci = min(int((y1 + y2) / 2), g - 1)
            cj = min(int((x1 + x2) / 2), g - 1)
            sigma = max(0.5, np.sqrt((x2 - x1) * (y2 - y1)) / 6)
            bump = np.exp(-((xs - cj - 0.5) ** 2 + (ys - ci - 0.5) ** 2) / (2 * sigma**2))
            np.maximum(heat[i, label], bump, out=heat[i, label])
            heat[i, label, ci, cj] = 1.0
            for y in range(max(ci - 1, 0), min(ci + 2, g)):
                for x in range(max(cj - 1, 0), min(cj + 2, g)):
                    w = 1.0 if (y, x) == (ci, cj) else 0.5
                    inside = x1 <= x + 0.5 <= x2 and y1 <= y + 0.5 <= y2
                    if inside and w >= weight[i, y, x]:
                        reg[i, :, y, x] = (x + 0.5 - x1, y + 0.5 - y1, x2 - x - 0.5, y2 - y - 0.5)
                        weight[i, y, x] = w
    return heat, reg, weight


def loss_fn(out: torch.Tensor, heat: torch.Tensor, reg: torch.Tensor,
            weight: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(out[:, :NUM_CLASSES]).clamp(1e-4, 1 - 1e-4)
    pos = heat.eq(1).float()
    focal = -(torch.log(p) * (1 - p) ** 2 * pos).sum() \
        - (torch.log(1 - p) * p**2 * (1 - heat) ** 4 * (1 - pos)).sum()
    focal = focal / pos.sum().clamp(min=1)
    l1 = (F.l1_loss(out[:, NUM_CLASSES:], reg, reduction="none").sum(1) * weight).sum()
    return focal + 0.5 * l1 / weight.sum().clamp(min=1)


def dihedral(x: torch.Tensor, targets: list[dict], op: int, size: int = 96):
    """One of the 8 flips / transposes of a batch [B, 3, S, S] and its boxes."""
    boxes = [np.asarray(t["boxes"], np.float32) for t in targets]
    if op & 1:  # left-right
        x = x.flip(3)
        boxes = [np.stack([size - b[:, 2], b[:, 1], size - b[:, 0], b[:, 3]], 1) for b in boxes]
    if op & 2:  # top-bottom
        x = x.flip(2)
        boxes = [np.stack([b[:, 0], size - b[:, 3], b[:, 2], size - b[:, 1]], 1) for b in boxes]
    if op & 4:  # transpose
        x = x.transpose(2, 3)
        boxes = [b[:, [1, 0, 3, 2]] for b in boxes]
    return x.contiguous(), [{"boxes": b, "labels": t["labels"]}
                            for b, t in zip(boxes, targets, strict=True)]


def train(model: Detector, images: np.ndarray, targets: list[dict], iterations: int = 4500,
          batch_size: int = 16, lr: float = 3e-3, seed: int = 0, log=print) -> Detector:
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x_all = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    opt = torch.optim.AdamW(model.parameters(), lr, weight_decay=1e-4)
    model.train()
    started = time.monotonic()
    it = 0
    while it < iterations:
        order = rng.permutation(len(images))
        for idx in order[: len(order) - len(order) % batch_size].reshape(-1, batch_size):
            if it >= iterations:
                break
            warm = min(1.0, (it + 1) / 50)
            for group in opt.param_groups:
                group["lr"] = lr * warm * 0.5 * (1 + np.cos(np.pi * it / iterations))
            op = int(rng.integers(8))
            x, tg = dihedral(x_all[idx].float() / 255, [targets[i] for i in idx], op)
            heat, reg, weight = (torch.from_numpy(a) for a in make_targets(tg, x.shape[-1]))
            loss = loss_fn(model(x), heat, reg, weight)
            opt.zero_grad()
            loss.backward()
            opt.step()
            it += 1
            if log and it % 250 == 0:
                log(f"iteration {it}/{iterations}  loss {loss.item():.3f}  "
                    f"{time.monotonic() - started:.0f} s")
    model.eval()
    return model


# --------------------------------------------------------------------------- inference


@torch.inference_mode()
def decode(out: torch.Tensor) -> list[dict]:
    """Peaks of the class heatmaps (3 x 3 local maxima) -> up to MAX_DETS boxes per image."""
    b, _, gh, gw = out.shape
    heat = torch.sigmoid(out[:, :NUM_CLASSES])
    peaks = heat  # BUG: no 3 x 3 local-maximum filter, so no duplicate suppression
    scores, idx = peaks.reshape(b, -1).topk(min(MAX_DETS, NUM_CLASSES * gh * gw))
    labels = idx // (gh * gw)
    cell = idx % (gh * gw)
    cy = (cell // gw).float() + 0.5
    cx = (cell % gw).float() + 0.5
    dist = out[:, NUM_CLASSES:].reshape(b, 4, -1).gather(2, cell[:, None].expand(b, 4, -1))
    boxes = torch.stack([cx - dist[:, 0], cy - dist[:, 1], cx + dist[:, 2], cy + dist[:, 3]], -1)
    boxes = boxes * STRIDE
    # degenerate regressions (negative extent) become zero-size boxes, never x2 < x1
    boxes[..., 2:] = torch.maximum(boxes[..., 2:], boxes[..., :2])
    keep = scores > MIN_SCORE
    boxes, scores, labels = boxes.numpy(), scores.numpy(), labels.numpy()
    return [{"boxes": boxes[i][keep[i].numpy()], "scores": scores[i][keep[i].numpy()],
             "labels": labels[i][keep[i].numpy()]} for i in range(b)]


_model: Detector | None = None


def load_model() -> Detector:
    global _model
    if _model is None:
        model = Detector()
        state = torch.load(artifact_dir("detection") / WEIGHTS, map_location="cpu",
                           weights_only=True)
        model.load_state_dict(state)
        _model = model.eval()
    return _model


def predict(images: np.ndarray) -> list[dict]:
    """uint8 [B, H, W, 3] -> per image {boxes [K, 4] xyxy px, scores [K], labels [K]}."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be [B, H, W, 3], got shape {images.shape}")
    if images.shape[0] == 0:
        return []
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float() / 255
    with torch.inference_mode():
        return decode(load_model()(x))


if TRAIN and not is_grading():
    # In the notebook, with TRAIN = True: train (minutes), save, report AP on public data.
    from proctor.cocoeval import evaluate

    torch.set_num_threads(2)
    train_images, train_targets = detection(8000, TRAIN_SEED)
    model = train(Detector(), train_images, train_targets)
    path = artifact_dir("detection") / WEIGHTS
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    _model = None
    val_images, val_targets = detection(200, VAL_SEED)
    print(evaluate(predict(val_images), val_targets, NUM_CLASSES))
