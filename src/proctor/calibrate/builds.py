"""Artifacts that reference solutions build at calibration time, and the committed store
of the slow ones.

A solution's ``build.py`` (or an artifact mutant's mutated script) runs once per
*content*: the script's text, the files it starts from and the data files of the
exercise's reference artifact.  The output goes to a cache dir named by that digest.

Some builds train a model for minutes (a pruned network fine-tuned, a segmentation net
without augmentation); seven of them would take most of CI's time.  Their outputs may be
committed under ``reference_solutions/<id>/builds/<solution>-<digest>/``
(``proctor calibrate --store-builds ID``): calibration uses a stored build only when its
digest is the one the current script and inputs give, so editing a script, its start
files or the reference artifact rebuilds it, and the stale store is reported.  The digest
does not cover library code the script imports (the kit's generators): after changing
those, rebuild with ``--store-builds``, as the cache has the same blind spot.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from proctor.calibrate import mutants as _mutants
from proctor.calibrate.solution import Solution
from proctor.digest import tree_sha256
from proctor.library.spec import ExerciseDir, SpecError

STORE = "builds"
_DONE = ".complete"


def _tree_digest(root: Path | None, skip_code: bool = False) -> str:
    def data_only(p: Path) -> bool:
        return not (p.suffix in (".py", ".pyc") or "__pycache__" in p.parts)
    if root is None:
        return ""
    return tree_sha256(root, data_only) if skip_code else tree_sha256(root)


def _entry(path: Path, name: str) -> Path:
    if (path / name).is_file():
        return path / name
    raise SpecError(f"{path}: no {name}")


def _script_text(ex: ExerciseDir, sol: Solution) -> tuple[Path | None, bytes]:
    if ex.spec.kind == "artifact" and sol.mutation is not None:
        return None, _mutants.apply(sol.mutation, ex.solutions_dir).encode()
    script = _entry(sol.path, "build.py")
    return script, script.read_bytes()


def build_name(ex: ExerciseDir, sol: Solution, start_from: Path | None = None) -> str:
    """``<solution>-<digest>``: the folder name of this build in the cache and the store."""
    _, text = _script_text(ex, sol)
    inputs = None
    if ex.spec.kind == "artifact" and ex.spec.reference_artifact:
        inputs = (ex.public_dir / ex.spec.reference_artifact).resolve()
        inputs = inputs if inputs.is_dir() else inputs.parent
    digest = hashlib.sha256(text + _tree_digest(start_from).encode()
                            + _tree_digest(inputs, skip_code=True).encode()).hexdigest()
    return f"{sol.name.replace('/', '__')}-{digest[:16]}"


def build_artifact(ex: ExerciseDir, sol: Solution, cache: Path,
                   start_from: Path | None = None) -> Path:
    """Run a solution's build script once per content (its text, the files of
    ``start_from``, copied in first, and for an artifact exercise the data files of its
    ``reference_artifact`` dir, which builds derive from: a retrained baseline rebuilds);
    return the artifact dir: the committed store's copy when it is current."""
    name = build_name(ex, sol, start_from)
    stored = ex.solutions_dir / STORE / name
    if (stored / _DONE).is_file():
        return stored
    out = cache / ex.id / name
    if (out / _DONE).is_file():
        return out
    shutil.rmtree(out, ignore_errors=True)
    if start_from is not None:
        shutil.copytree(start_from, out)
    out.mkdir(parents=True, exist_ok=True)
    script, text = _script_text(ex, sol)
    if script is None:  # a mutant's script exists only as text: run it from the cache
        script = out.parent / f"{out.name}.build.py"
        script.write_bytes(text)
    proc = subprocess.run([sys.executable, str(script), str(out)], capture_output=True,
                          text=True, cwd=ex.solutions_dir.parent.parent, timeout=1800)
    if proc.returncode != 0:
        raise SpecError(f"{sol.path}: build failed ({script}):\n{proc.stderr[-2000:]}")
    (out / _DONE).write_text(name)
    return out


def store(ex: ExerciseDir, built: dict[str, Path]) -> list[str]:
    """Commit-ready copies of this exercise's builds (``{build name: artifact dir}``) in
    ``reference_solutions/<id>/builds/``, dropping stored builds no solution uses any
    more; returns what changed, one line each."""
    root = ex.solutions_dir / STORE
    changes = []
    for name, path in sorted(built.items()):
        dest = root / name
        if path.resolve() == dest.resolve():
            continue
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(path, dest)
        changes.append(f"stored {ex.id}/{STORE}/{name}")
    for old in sorted(root.iterdir()) if root.is_dir() else []:
        if old.name not in built:
            shutil.rmtree(old)
            changes.append(f"removed stale {ex.id}/{STORE}/{old.name}")
    return changes


def stale(ex: ExerciseDir, current: set[str]) -> list[str]:
    """Stored builds that no solution's current digest names (their script or inputs
    changed since they were stored): calibration rebuilt them, slowly."""
    root = ex.solutions_dir / STORE
    return [f"{ex.id}/{STORE}/{p.name}" for p in sorted(root.iterdir())
            if p.name not in current] if root.is_dir() else []
