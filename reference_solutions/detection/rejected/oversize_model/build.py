"""Write the oversize_model artifact dir: the reference's model.pt (copied in by calibrate,
``weights_from``) plus per-epoch training checkpoints, as a careless notebook leaves them.

    python build.py OUT_DIR        (run by ``proctor calibrate``, cwd = repository root)

Deterministic: the "checkpoints" are the reference weights plus seeded noise, with AdamW
moments of the same shapes; ~1.5 MB each, three of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch


def main() -> int:
    out = Path(sys.argv[1])
    state = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    gen = torch.Generator().manual_seed(0)
    (out / "checkpoints").mkdir(exist_ok=True)
    for epoch in (1, 2, 3):
        weights = {k: (v + 0.01 * torch.randn(v.shape, generator=gen) if v.is_floating_point()
                       else v) for k, v in state.items()}
        moments = {k: {"exp_avg": torch.randn(v.shape, generator=gen),
                       "exp_avg_sq": torch.rand(v.shape, generator=gen)}
                   for k, v in state.items() if v.is_floating_point()}
        torch.save({"epoch": epoch, "model": weights, "optimizer": moments},
                   out / "checkpoints" / f"epoch_{epoch:02d}.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
