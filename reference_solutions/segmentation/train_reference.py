"""Train the segmentation reference and write its weights (committed, ~0.2 MB).

    .venv/bin/python reference_solutions/segmentation/train_reference.py [--iterations N]

Runs ``train`` from ``accepted/reference/solution.py`` (the same code a candidate's
notebook would run) on ``segmentation(8000, TRAIN_SEED)``, saves the weights with
``save_weights`` (float16) to ``accepted/reference/artifacts/segmentation/model.pt`` and
prints mIoU, per-class IoU and boundary F on the public validation split.  Deterministic for
a given machine and thread count (seeded); PyTorch's CPU kernels may differ slightly across
machines, so a retrained file can differ in its last bits: rerun
``proctor calibrate --strict segmentation`` after retraining.

The committed file: 3,000 iterations in 290 s of CPU (one thread); public validation (300
images) mIoU 0.805, per class [0.978, 0.817, 0.736, 0.748, 0.746], boundary F 0.898.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOLUTION = HERE / "accepted" / "reference" / "solution.py"
OUT = HERE / "accepted" / "reference" / "artifacts" / "segmentation" / "model.pt"


def load_solution():
    spec = importlib.util.spec_from_file_location("segmentation_reference", SOLUTION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # TRAIN is False: nothing trains on import
    return module


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=None, help="default: the solution's")
    p.add_argument("--images", type=int, default=8000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()

    import torch

    from proctor.kit.segmentation import evaluate, segmentation

    torch.set_num_threads(args.threads)
    ref = load_solution()
    t0 = time.monotonic()
    images, masks = segmentation(args.images, ref.TRAIN_SEED)
    print(f"generated {args.images} training images in {time.monotonic() - t0:.1f} s")
    model = ref.UNet()
    print(f"UNet: {sum(p.numel() for p in model.parameters()):,} parameters")
    kwargs = {} if args.iterations is None else {"iterations": args.iterations}
    t1, c1 = time.monotonic(), time.process_time()
    ref.train(model, images, masks, **kwargs)
    wall, cpu = time.monotonic() - t1, time.process_time() - c1
    print(f"trained in {wall:.0f} s wall, {cpu:.0f} s CPU ({args.threads} threads)")
    ref.save_weights(model, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size:,} bytes)")
    ref._model = None  # predict loads the saved (float16) weights, as grading does
    ref.artifact_dir = lambda _id: args.out.parent
    val_images, val_masks = segmentation(300, ref.VAL_SEED)
    r = evaluate(ref.predict(val_images), val_masks)
    print(f"public validation (300 images): mIoU {r['miou']:.3f}  per class "
          f"{[round(v, 3) for v in r['per_class_iou']]}  boundary F {r['boundary_f']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
