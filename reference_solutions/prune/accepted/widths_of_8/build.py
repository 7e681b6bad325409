"""Accepted: the reference recipe (L1 filter pruning, the same fine-tune and export) at
widths (8, 24, 40, 40, 56): multiples of 8 but not of 16, 0.39x the baseline's
multiply-adds and 45,768 parameters in the file.

The case the prune latency budget is derived for (issue 12): ONNX Runtime's NCHWc blocked
convolutions work in channel blocks of 16 on AVX-512 and of 8 on AVX2, so these widths
are padded on an AVX-512 host (0.69x the baseline's time there with the blocked layout)
and not on an AVX2 one. The grader measures prune without that layout (onnx_runner's
LAYOUT_NEUTRAL), where this model runs at about 0.5x, within the budget on either host.

It reuses the reference build's functions (run from its file, so its main() does not
run). Calibration caches builds by this script's bytes: after editing the reference
build, clear .cache/calibrate/prune to rebuild this one too.

Usage: python build.py OUT_DIR   (cwd: the repository root; writes OUT_DIR/model.onnx)
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

WIDTHS = (8, 24, 40, 40, 56)


def main(out: Path) -> None:
    ref = runpy.run_path(str(Path(__file__).resolve().parents[1] / "reference" / "build.py"))
    ref["_tune_malloc"]()
    ref["torch"].manual_seed(ref["SEED"])
    ref["torch"].set_num_threads(2)
    student = ref["prune"](ref["baseline"].load_baseline(ref["SHARED"] / "baseline_cnn.pt"),
                           WIDTHS)
    ref["fine_tune"](student)
    ref["export"](student, out / "model.onnx")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
