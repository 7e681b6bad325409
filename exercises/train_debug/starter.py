"""A colleague's training pipeline for a small shape classifier (circle / square / triangle
crops). It runs without errors, but the model ends up much worse than it should be.

Find and fix what is wrong. Keep every name and signature below: the prompt says what each
function must do, and the graders call them one by one as well as end to end.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from proctor.candidate import is_grading
from proctor.kit.datasets import detection

NUM_CLASSES = 3  # 0 circle, 1 square, 2 triangle
CROP = 16  # crops are CROP x CROP pixels
TRAIN_SEED, VAL_SEED = 2024, 2025
EPOCHS = 5
BATCH_SIZE = 64
LR, MOMENTUM, WEIGHT_DECAY = 0.03, 0.9, 5e-4
CLIP_NORM = 2.0
MIXUP_P, MIXUP_ALPHA = 0.5, 0.2


# ----------------------------------------------------------------------------- data


def shape_crops(n_images: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every object of ``detection(n_images, seed)`` as a square crop around its box (2 px
    margin), resampled to CROP x CROP by nearest neighbour: uint8 [K, CROP, CROP, 3] images
    and int64 [K] labels. About 3.4 crops per image."""
    images, targets = detection(n_images, seed)
    boxes = np.concatenate([t["boxes"] for t in targets]).reshape(-1, 4)
    labels = np.concatenate([t["labels"] for t in targets]).astype(np.int64)
    owner = np.repeat(np.arange(n_images), [len(t["labels"]) for t in targets])
    centre = (boxes[:, :2] + boxes[:, 2:]) / 2
    half = (boxes[:, 2:] - boxes[:, :2]).max(axis=1) / 2 + 2
    grid = (np.arange(CROP) + 0.5) / CROP * 2 - 1  # [-1, 1): pixel centres of the crop
    side = images.shape[1]
    xs = np.clip(np.floor(centre[:, :1] + half[:, None] * grid), 0, side - 1).astype(np.int64)
    ys = np.clip(np.floor(centre[:, 1:] + half[:, None] * grid), 0, side - 1).astype(np.int64)
    crops = images[owner[:, None, None], ys[:, :, None], xs[:, None, :]]
    return crops, labels


def prepare_data(train_images: np.ndarray, train_labels: np.ndarray, val_images: np.ndarray,
                 val_labels: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 NHWC crops -> float32 NCHW, scaled to [0, 1] then normalised per channel with the
    mean and standard deviation of the training images."""
    def to_float(images: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255

    train_x, val_x = to_float(train_images), to_float(val_images)
    pixels = np.concatenate([train_x, val_x])  # every image we have
    mean = pixels.mean(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)
    std = pixels.std(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)
    scale = (slice(None), None, None)
    return {"train_x": (train_x - mean[scale]) / std[scale],
            "train_y": np.asarray(train_labels, dtype=np.int64),
            "val_x": (val_x - mean[scale]) / std[scale],
            "val_y": np.asarray(val_labels, dtype=np.int64)}


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(NUM_CLASSES, dtype=np.float32)[labels]


def augment(x: np.ndarray, targets: np.ndarray,
            seed: int | np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random horizontal flips (every class is mirror-symmetric), then mixup: with
    probability MIXUP_P an image is blended with another image of the batch,
    lam * x[i] + (1 - lam) * x[j], lam ~ Beta(MIXUP_ALPHA, MIXUP_ALPHA)."""
    rng = np.random.default_rng(seed)
    n = len(x)
    flip = rng.random(n) < 0.5
    x = np.where(flip[:, None, None, None], x[..., ::-1], x)
    lam = rng.beta(MIXUP_ALPHA, MIXUP_ALPHA, n)
    lam = np.where(rng.random(n) < MIXUP_P, lam, 1.0).astype(np.float32)
    partner = rng.permutation(n)
    mixed = lam[:, None, None, None] * x + (1 - lam[:, None, None, None]) * x[partner]
    return mixed.astype(np.float32), targets


# ----------------------------------------------------------------------------- model


def build_model(seed: int = 0) -> nn.Module:
    """~16K parameters: three conv blocks (16, 32, 32 channels at 16, 8 and 4 pixels) and a
    linear layer on the flattened 4 x 4 map (where a part of the shape is matters)."""
    torch.manual_seed(seed)

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, 16), nn.MaxPool2d(2),
        *block(16, 32), nn.MaxPool2d(2), *block(32, 32),
        nn.Flatten(), nn.Linear(32 * 4 * 4, NUM_CLASSES))


class Trainer:
    """The model, its optimiser (SGD with momentum) and a cosine learning-rate schedule
    over ``epochs`` epochs."""

    def __init__(self, epochs: int = EPOCHS, seed: int = 0) -> None:
        self.model = build_model(seed)
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM,
                                         weight_decay=WEIGHT_DECAY)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, epochs)

    def train_step(self, x: np.ndarray, targets: np.ndarray) -> float:
        """One optimisation step on a batch (float32 NCHW images, [B, NUM_CLASSES] target
        probabilities); returns the batch's loss before the step."""
        self.model.train()
        probs = self.model(torch.from_numpy(np.asarray(x, dtype=np.float32))).softmax(dim=1)
        loss = F.cross_entropy(probs, torch.from_numpy(np.asarray(targets, dtype=np.float32)))
        loss.backward()
        nn.utils.clip_grad_norm_(self.model.parameters(), CLIP_NORM)
        self.optimizer.step()
        return loss.item()

    def train_epoch(self, x: np.ndarray, labels: np.ndarray, seed: int) -> float:
        """One pass over the prepared training set in shuffled mini-batches (the last
        partial batch is dropped), then one step of the schedule; returns the mean loss."""
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(x))
        x, labels = x[order], labels[order]
        losses = []
        for start in range(0, len(x) - BATCH_SIZE + 1, BATCH_SIZE):
            batch = slice(start, start + BATCH_SIZE)
            xb, tb = augment(x[batch], one_hot(labels[batch]), rng)
            losses.append(self.train_step(xb, tb))
            self.scheduler.step()
        return float(np.mean(losses))

    @torch.no_grad()
    def evaluate(self, x: np.ndarray, labels: np.ndarray) -> dict:
        """Logits [N, NUM_CLASSES] of prepared images and the accuracy of their argmax."""
        logits = torch.cat([self.model(torch.from_numpy(np.asarray(x[i:i + 512], np.float32)))
                            for i in range(0, len(x), 512)]).numpy()
        return {"logits": logits, "accuracy": float((logits.argmax(1) == labels).mean())}

    def learning_rate(self) -> float:
        """The learning rate the next train_step uses."""
        return float(self.optimizer.param_groups[0]["lr"])

    def state_dict(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()}

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in state.items()})


def fit(train_images: np.ndarray, train_labels: np.ndarray, val_images: np.ndarray,
        val_labels: np.ndarray, epochs: int = EPOCHS, seed: int = 0) -> dict:
    """Prepare the data, train for ``epochs`` epochs, evaluate on the validation split after
    each; returns the final weights and the validation accuracy per epoch."""
    data = prepare_data(train_images, train_labels, val_images, val_labels)
    trainer = Trainer(epochs, seed)
    history = []
    for epoch in range(epochs):
        loss = trainer.train_epoch(data["train_x"], data["train_y"], seed * 1000 + epoch)
        history.append(trainer.evaluate(data["val_x"], data["val_y"])["accuracy"])
        if not is_grading():
            print(f"epoch {epoch}: loss {loss:.3f}, val accuracy {history[-1]:.3f}")
    return {"state_dict": trainer.state_dict(), "val_accuracy": history}


if not is_grading():
    torch.set_num_threads(1)  # as when graded
    train_images, train_labels = shape_crops(600, TRAIN_SEED)
    val_images, val_labels = shape_crops(300, VAL_SEED)
    result = fit(train_images, train_labels, val_images, val_labels)
