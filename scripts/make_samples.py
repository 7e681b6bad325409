"""Regenerate samples/: candidate-shaped submissions for the demo, built from the
starter notebooks with a reference solution pasted into the starter cell.

A pick names a solution as ``proctor calibrate`` does (``accepted/reference``,
``rejected/tie_order``); a mutant (``mutates`` in its ``expect.toml``) contributes the
source calibration builds for it. A solution folder's saved files (``artifacts/<id>/``,
or another solution's through ``weights_from``) are copied to the sample's
``artifacts/<id>/``, as a candidate would submit them. For an
artifact exercise (the edge track) the pick's ``build.py`` makes the model, through
calibration's content-addressed cache (``.cache/calibrate``), and the notebook shows
the build script where the candidate's code would be.

    .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat

from proctor.calibrate import Solution, build_artifact, discover, source_for
from proctor.library import notebooks as nbgen
from proctor.library.spec import Library

SAMPLES = {
    # a strong candidate: accepted solutions everywhere
    "strong": {
        "box_ops": "accepted/reference",
        "connected_components": "accepted/reference",
        "detection": "accepted/reference",
        "tracking": "accepted/reference",
        "geometry": "accepted/reference",
        "onnx_export": "accepted/reference",
        "quantize_int8": "accepted/reference",
        "prune": "accepted/reference",
        "vit_attention": "accepted/reference",
        "seg_masks": "accepted/reference",
    },
    # a flawed one: a tie-order bug, a slow labeller, a tracker without motion model, a
    # wrong inlier threshold, an int8 model that is slower than fp32, a softmax that
    # overflows, run-length codes in row-major order; detection not attempted
    "flawed": {
        "box_ops": "rejected/tie_order",
        "connected_components": "rejected/python_union_find",
        "tracking": "rejected/greedy_no_motion",
        "geometry": "rejected/threshold_squared",
        "quantize_int8": "rejected/dynamic_quantization",
        "vit_attention": "rejected/naive_softmax",
        "seg_masks": "rejected/row_major_rle",
    },
}


CACHE = Path(".cache") / "calibrate"  # calibration's build cache, under the library root


def notebook_with(library: Library, exercise_id: str, code: str) -> str:
    ex = library.get(exercise_id)
    nb = nbformat.reads(nbgen.render(ex), as_version=4)
    starter = next(c for c in nb.cells if c.cell_type == "code" and c.source == ex.starter.rstrip())
    starter.source = code.rstrip()
    return nbformat.writes(nb) + "\n"


def pick(library: Library, exercise_id: str, name: str) -> Solution:
    sols = discover(library.get(exercise_id))
    found = [s for s in sols if s.name == name]
    if not found:
        raise SystemExit(f"{exercise_id}: no solution {name!r} (have {[s.name for s in sols]})")
    return found[0]


def solution_files(library: Library, exercise_id: str, name: str) -> tuple[str, Path | None]:
    """The solution's code (a mutant's built source) and the folder of its saved files
    (None if it has none), as calibration grades them."""
    ex = library.get(exercise_id)
    src = source_for(ex, pick(library, exercise_id, name), library.root / CACHE)
    (code,) = src.cells  # a .py solution is one cell
    return code, src.artifact_dir


def built_model(library: Library, exercise_id: str, name: str) -> tuple[str, Path]:
    """An artifact solution's build script and the folder it built (cached)."""
    ex = library.get(exercise_id)
    sol = pick(library, exercise_id, name)
    built = build_artifact(ex, sol, library.root / CACHE)
    return (sol.path / "build.py").read_text(), built


def main() -> int:
    library = Library.find(Path(__file__).resolve().parents[1])
    out = library.root / "samples"
    for name, picks in SAMPLES.items():
        dest = out / name
        shutil.rmtree(dest, ignore_errors=True)
        (dest / "notebooks").mkdir(parents=True)
        for ex_id, sol_name in picks.items():
            if library.get(ex_id).spec.kind == "artifact":
                code, artifacts = built_model(library, ex_id, sol_name)
            else:
                code, artifacts = solution_files(library, ex_id, sol_name)
            (dest / "notebooks" / f"{ex_id}.ipynb").write_text(notebook_with(library, ex_id, code))
            if artifacts is not None:
                shutil.copytree(artifacts, dest / "artifacts" / ex_id,
                                ignore=shutil.ignore_patterns(".complete"))
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
