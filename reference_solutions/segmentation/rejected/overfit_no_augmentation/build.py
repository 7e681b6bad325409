"""Write the overfit_no_augmentation artifact dir: the reference's network and loss trained
on 32 images only, without flips or rotations, for 300 iterations of 16 (150 epochs): the
training images are learnt by heart, unseen ones are not.

    python build.py OUT_DIR        (run by ``proctor calibrate``, cwd = repository root)

Deterministic for a given machine (seeded, one thread); ~30 s of CPU.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import torch

from proctor.kit.segmentation import segmentation

REFERENCE = Path("reference_solutions/segmentation/accepted/reference/solution.py")


def main() -> int:
    spec = importlib.util.spec_from_file_location("segmentation_reference", REFERENCE)
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)
    torch.set_num_threads(1)
    images, masks = segmentation(32, ref.TRAIN_SEED)
    model = ref.train(ref.UNet(), images, masks, iterations=300, augment=False, log=None)
    ref.save_weights(model, Path(sys.argv[1]) / ref.WEIGHTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
