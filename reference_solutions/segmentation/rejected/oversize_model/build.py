"""Write the oversize_model artifact dir: model.pt as a whole training checkpoint, as a
careless notebook saves it: float32 weights plus AdamW's two moments per weight and the
iteration count (~1.3 MB, over the 1 MiB budget), where the reference saves float16
weights alone (~0.24 MB).

    python build.py OUT_DIR        (run by ``proctor calibrate``, cwd = repository root)

Deterministic: starts from the reference's model.pt (copied in by calibrate,
``weights_from``); the moments are seeded noise of the right shapes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch


def main() -> int:
    out = Path(sys.argv[1])
    state = torch.load(out / "model.pt", map_location="cpu", weights_only=True)
    weights = {k: v.float() if v.is_floating_point() else v for k, v in state.items()}
    gen = torch.Generator().manual_seed(0)
    moments = {k: {"exp_avg": 1e-3 * torch.randn(v.shape, generator=gen),
                   "exp_avg_sq": 1e-6 * torch.rand(v.shape, generator=gen)}
               for k, v in weights.items() if v.is_floating_point()}
    torch.save({"iteration": 3000, "model": weights, "optimizer": moments}, out / "model.pt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
