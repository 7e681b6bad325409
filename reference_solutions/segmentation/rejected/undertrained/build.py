"""Write the undertrained artifact dir: the reference's recipe (``train`` of
accepted/reference/solution.py, augmentation and all) stopped after 150 iterations, a
twentieth of its 3000.

    python build.py OUT_DIR        (run by ``proctor calibrate``, cwd = repository root)

Deterministic for a given machine (seeded, one thread); ~15 s of CPU.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

from proctor.kit.segmentation import segmentation

REFERENCE = Path("reference_solutions/segmentation/accepted/reference/solution.py")
ITERATIONS = 150


def main() -> int:
    spec = importlib.util.spec_from_file_location("segmentation_reference", REFERENCE)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.set_num_threads(1)
    images, masks = segmentation(16 * ITERATIONS, ref.TRAIN_SEED)
    model = ref.train(ref.UNet(), images, masks, iterations=ITERATIONS, log=None)
    ref.save_weights(model, Path(sys.argv[1]) / ref.WEIGHTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
