"""Train the detection reference and write its weights (committed, ~0.5 MB).

    .venv/bin/python reference_solutions/detection/train_reference.py [--iterations N]

Runs ``train`` from ``accepted/reference/solution.py`` (the same code a candidate's
notebook would run) on ``detection(8000, TRAIN_SEED)``, saves the state dict to
``accepted/reference/artifacts/detection/model.pt`` and prints AP on the public
validation split.  Deterministic for a given machine and thread count (seeded);
PyTorch's CPU kernels may differ slightly across machines, so a retrained file can
differ in its last bits — rerun ``proctor calibrate detection`` after retraining.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOLUTION = HERE / "accepted" / "reference" / "solution.py"
OUT = HERE / "accepted" / "reference" / "artifacts" / "detection" / "model.pt"


def load_solution():
    spec = importlib.util.spec_from_file_location("detection_reference", SOLUTION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # TRAIN is False: nothing trains on import
    return module


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=4500)
    p.add_argument("--images", type=int, default=8000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()

    import torch

    from proctor.cocoeval import evaluate
    from proctor.datasets import detection

    torch.set_num_threads(args.threads)
    ref = load_solution()
    t0 = time.monotonic()
    images, targets = detection(args.images, ref.TRAIN_SEED)
    print(f"generated {args.images} training images in {time.monotonic() - t0:.1f} s")
    model = ref.Detector()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"Detector: {n_params:,} parameters")
    t1, c1 = time.monotonic(), time.process_time()
    ref.train(model, images, targets, iterations=args.iterations)
    wall, cpu = time.monotonic() - t1, time.process_time() - c1
    print(f"trained {args.iterations} iterations in {wall:.0f} s wall, {cpu:.0f} s CPU "
          f"({args.threads} threads)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    ref._model = model.eval()
    val_images, val_targets = detection(300, ref.VAL_SEED)
    r = evaluate(ref.predict(val_images), val_targets, ref.NUM_CLASSES)
    print(f"public validation (300 images): AP@0.5 {r['AP50']:.3f}  AP@[.5:.95] {r['AP']:.3f}"
          f"  per class AP@0.5 {[round(a, 3) for a in r['per_class_AP50']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
