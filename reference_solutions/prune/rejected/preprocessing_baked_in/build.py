"""Rejected: structured L1 filter pruning to half the width of every conv block and a
short fine-tune (the reference's method, 2 epochs instead of 3), exported with the
preprocessing baked into the graph, as in the ``onnx_export`` exercise ("the device hands
over uint8 frames"): input ``images`` uint8 NHWC ``[B, 64, 64, 3]``.  The contract is the
baseline's I/O -- float32 NCHW ``[B, 3, 64, 64]``, already preprocessed -- so the
preprocessed batches the grader feeds are refused: nothing but the parameter count can be
checked.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

from __future__ import annotations

import ctypes
import os
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from proctor import baseline
from proctor.datasets import classification

SHARED = Path.cwd() / "exercises" / "_shared"
KEEP = 0.5
CONV_BLOCKS = (0, 2, 4, 5, 7)  # indexes in model.features
N_TRAIN, EPOCHS, BATCH, LR = 20000, 2, 64, 3e-3


@torch.no_grad()
def prune(model: nn.Module, keep: float) -> nn.Module:
    """A ``build_model(widths=...)`` with the ``keep`` share of each block's filters of
    largest L1 norm, weights copied (BN and the next layer's input channels sliced too)."""
    widths = [max(1, round(w * keep)) for w in model.widths]
    small = baseline.build_model(widths=widths)
    prev = torch.arange(3)
    for i, w in zip(CONV_BLOCKS, widths, strict=True):
        conv, bn = model.features[i][0], model.features[i][1]
        sconv, sbn = small.features[i][0], small.features[i][1]
        idx = conv.weight.abs().sum(dim=(1, 2, 3)).argsort(descending=True)[:w].sort().values
        sconv.weight.copy_(conv.weight[idx][:, prev])
        for name in ("weight", "bias", "running_mean", "running_var"):
            getattr(sbn, name).copy_(getattr(bn, name)[idx])
        prev = idx
    small.classifier.weight.copy_(model.classifier.weight[:, prev])
    small.classifier.bias.copy_(model.classifier.bias)
    return small


def fine_tune(model: nn.Module) -> None:
    """AdamW, one-cycle schedule, label smoothing, horizontal flips, on TRAIN_SEED images."""
    images, labels = classification(N_TRAIN, baseline.TRAIN_SEED)
    x_all, y_all = baseline.preprocess(images), torch.from_numpy(labels)
    gen = torch.Generator().manual_seed(0)
    steps = N_TRAIN // BATCH
    opt = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=LR, pct_start=0.2,
                                                total_steps=EPOCHS * steps)
    model.train()
    for _ in range(EPOCHS):
        perm = torch.randperm(N_TRAIN, generator=gen)
        for s in range(steps):
            idx = perm[s * BATCH:(s + 1) * BATCH]
            xb, yb = x_all[idx], y_all[idx]
            flip = torch.rand(len(idx), generator=gen) < 0.5
            xb[flip] = xb[flip].flip(-1)
            loss = F.cross_entropy(model(xb), yb, label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    model.eval()


class WithPreprocessing(nn.Module):
    """The mistake: uint8 NHWC images -> ``net(preprocess(images))`` as graph ops."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(baseline.MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(baseline.STD).view(1, 3, 1, 1))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = images.permute(0, 3, 1, 2).to(torch.float32) / 255.0
        return self.net((x - self.mean) / self.std)


def main(out: Path) -> None:
    try:  # keep freed activation buffers, as scripts/train_baseline.py does
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 32 * 1024 * 1024)
        libc.mallopt(-1, 1024 * 1024 * 1024)
    except OSError:
        pass
    torch.manual_seed(0)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    small = prune(baseline.load_baseline(SHARED / "baseline_cnn.pt"), KEEP)
    fine_tune(small)
    model = WithPreprocessing(small).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.zeros(2, 64, 64, 3, dtype=torch.uint8),),
                          str(out / "model.onnx"), input_names=["images"],
                          output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}},
                          opset_version=17, dynamo=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
