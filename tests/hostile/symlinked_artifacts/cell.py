"""Attack (with a folder submission whose artifacts/ the test makes a symlink to the
grading library's graders/): read the hidden checks and seed through the artifact dir
that the worker gets bound in, and through PROCTOR_ARTIFACT_DIR.
Expect: the symlink is refused (a problem in the report), nothing readable, every
correctness check passes."""
import os

import numpy as np


def _escaped(what):
    global box_iou
    print("HOSTILE ESCAPED:", what, flush=True)
    box_iou = lambda a, b: np.full((len(a), len(b)), 0.5)  # noqa: E731


for base in ("/submission", "/submission/artifacts/box_ops",
             os.environ.get("PROCTOR_ARTIFACT_DIR", "/nonexistent")):
    for name in ("seed.txt", "checks.py"):
        try:
            with open(os.path.join(base, name), "rb") as f:
                _escaped(f"read {base}/{name}: {f.read(200)!r}")
        except OSError:
            pass
    try:
        listing = os.listdir(base)
    except OSError:
        continue
    if "seed.txt" in listing or "checks.py" in listing:
        _escaped(f"listed {base}: {listing}")
print("HOSTILE symlinked_artifacts: done", flush=True)
