"""Regenerate samples/: candidate-shaped submissions for the demo, built from the
starter notebooks with a reference solution pasted into the starter cell.

A pick may be a solution folder (``accepted/reference``: ``solution.py`` plus saved
files in ``artifacts/<id>/``, or ``weights_from`` in its ``expect.toml``); its files are
copied to the sample's ``artifacts/<id>/``, as a candidate would submit them. For an
artifact exercise (the edge track) the pick's ``build.py`` makes the model, through
calibration's content-addressed cache (``.cache/calibrate``), and the notebook shows
the build script where the candidate's code would be.

    .venv/bin/python scripts/make_samples.py
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

import nbformat

from proctor import nbgen
from proctor.calibrate import build_artifact, discover
from proctor.spec import Library

SAMPLES = {
    # a strong candidate: accepted solutions everywhere
    "strong": {
        "box_ops": "accepted/reference.py",
        "connected_components": "accepted/reference.py",
        "detection": "accepted/reference",
        "tracking": "accepted/reference.py",
        "geometry": "accepted/reference.py",
        "onnx_export": "accepted/reference",
        "quantize_int8": "accepted/reference",
        "prune": "accepted/reference",
    },
    # a flawed one: a tie-order bug, a slow labeller, a tracker without motion model, a
    # wrong inlier threshold, an int8 model that is slower than fp32; detection not attempted
    "flawed": {
        "box_ops": "rejected/tie_order/solution.py",
        "connected_components": "rejected/python_union_find/solution.py",
        "tracking": "rejected/greedy_no_motion/solution.py",
        "geometry": "rejected/threshold_squared/solution.py",
        "quantize_int8": "rejected/dynamic_quantization",
    },
}


def notebook_with(library: Library, exercise_id: str, solution: Path) -> str:
    ex = library.get(exercise_id)
    nb = nbformat.reads(nbgen.render(ex), as_version=4)
    starter = next(c for c in nb.cells if c.cell_type == "code" and c.source == ex.starter.rstrip())
    starter.source = solution.read_text().rstrip()
    return nbformat.writes(nb) + "\n"


def solution_files(library: Library, exercise_id: str, rel: str) -> tuple[Path, Path | None]:
    """The solution's code file and the folder of its saved files (None if it has none)."""
    sol = library.root / "reference_solutions" / exercise_id / rel
    if sol.is_file():
        return sol, None
    artifacts = sol / "artifacts" / exercise_id
    expect = sol / "expect.toml"
    if expect.is_file():
        weights_from = tomllib.loads(expect.read_text()).get("weights_from")
        if weights_from:
            artifacts = sol.parent.parent / weights_from / "artifacts" / exercise_id
    return sol / "solution.py", (artifacts if artifacts.is_dir() else None)


def built_model(library: Library, exercise_id: str, rel: str) -> tuple[Path, Path]:
    """An artifact solution's build script and the folder it built (cached)."""
    ex = library.get(exercise_id)
    sol = next(s for s in discover(ex) if s.name == rel)
    built = build_artifact(ex, sol, library.root / ".cache" / "calibrate")
    return sol.path / "build.py", built


def main() -> int:
    library = Library.find(Path(__file__).resolve().parents[1])
    out = library.root / "samples"
    for name, picks in SAMPLES.items():
        dest = out / name
        shutil.rmtree(dest, ignore_errors=True)
        (dest / "notebooks").mkdir(parents=True)
        for ex_id, rel in picks.items():
            if library.get(ex_id).spec.kind == "artifact":
                sol, artifacts = built_model(library, ex_id, rel)
            else:
                sol, artifacts = solution_files(library, ex_id, rel)
            (dest / "notebooks" / f"{ex_id}.ipynb").write_text(notebook_with(library, ex_id, sol))
            if artifacts is not None:
                shutil.copytree(artifacts, dest / "artifacts" / ex_id,
                                ignore=shutil.ignore_patterns(".complete"))
        print(f"wrote {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
