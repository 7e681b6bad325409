"""The candidate bundle: notebooks, public exercise files, a README — nothing hidden.

Layout of ``proctor bundle OUT``::

    README.md                    rules, suggested times, how to check and submit (with a
                                 plan: its title, time box and instructions)
    bundle.json                  the manifest: plan, exercises, proctor version and the
                                 content hash of every other file (``content_hash``)
    notebooks/<id>.ipynb         starter notebooks (rendered from exercises/<id>/)
    exercises/<id>/...           the public spec, prompt, starter, public checks, data,
                                 baseline models (what ``check()`` runs against)
    exercises/_shared/...        public files shared by several exercises, if any
    artifacts/<id>/              where artifact exercises save their deliverable

Built only from the public tree (``exercises/``); ``graders/`` and
``reference_solutions/`` are never copied from, which is the leak barrier.  After
writing, :func:`audit` scans every byte of the result for hidden material anyway
(``proctor.library.audit``: whole hidden files, hidden seeds, hidden check names and
docstrings, distinctive lines of reference solutions) and the build fails if it finds any.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import proctor
from proctor.digest import tree_sha256
from proctor.library import notebooks as nbgen
from proctor.library.audit import HIDDEN_TREES, Needles, audit, hidden_needles
from proctor.library.plans import InterviewPlan
from proctor.library.spec import ExerciseDir, Library, SpecError
from proctor.templating import templates

__all__ = ["build", "audit", "hidden_needles", "Needles", "LeakError", "HIDDEN_TREES",
           "MANIFEST", "content_hash", "read_manifest", "expected_hash"]

_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
MANIFEST = "bundle.json"
SCHEMA = "proctor.bundle/1"


class LeakError(RuntimeError):
    """The bundle would contain hidden material."""


def build(library: Library, out: Path, ids: list[str] | None = None,
          check_leaks: bool = True, plan: InterviewPlan | None = None) -> list[Path]:
    """Write the bundle to ``out`` (which must not exist or be empty); return its files.
    With a ``plan``: only its exercises and material, its time box in the README."""
    out = Path(out)
    if plan is not None and ids:
        raise SpecError("a plan's bundle holds the plan's exercises: give a plan or "
                        "exercise ids, not both")
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: exists and is not empty")
    existed = out.exists()
    try:
        return _write(library, out, ids, check_leaks, plan)
    except BaseException:
        if existed:  # it was empty: leave it empty
            for p in out.iterdir():
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p)
                else:
                    p.unlink()
        else:
            shutil.rmtree(out, ignore_errors=True)
        raise


def _write(library: Library, out: Path, ids: list[str] | None,
           check_leaks: bool, plan: InterviewPlan | None) -> list[Path]:
    if plan is not None:
        rows = [_row(i.exercise, i.points, i.minutes) for i in plan.items]
        exercises = [i.exercise for i in plan.items]
    else:
        exercises = [library.get(i) for i in (ids or library.ids())]
        rows = [_row(ex) for ex in exercises]
    skip = _SKIP
    if plan is not None and not plan.spec.material.public_checks:
        skip = shutil.ignore_patterns("__pycache__", "*.pyc", ".*", "checks.py")
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    (out / "artifacts").mkdir(exist_ok=True)
    for ex in exercises:
        _refuse_escaping_links(ex.public_dir)
        (out / "notebooks" / f"{ex.id}.ipynb").write_text(nbgen.render(ex))
        shutil.copytree(ex.public_dir, out / "exercises" / ex.id, ignore=skip)
        (out / "artifacts" / ex.id).mkdir(exist_ok=True)
    shared = library.root / "exercises" / "_shared"
    if shared.is_dir() and (plan is None or plan.ships_shared()):
        _refuse_escaping_links(shared)
        shutil.copytree(shared, out / "exercises" / "_shared", ignore=_SKIP)
    readme = templates("proctor.library", html=False).get_template("candidate_README.md.j2").render(
        exercises=rows, plan=plan.spec if plan is not None else None,
        time_box=_duration(plan.spec.minutes) if plan is not None else None,
        public_checks=plan is None or plan.spec.material.public_checks,
        total_points=sum(float(r["points"]) for r in rows),
        total_minutes=sum(r["minutes"] for r in rows))
    (out / "README.md").write_text(readme)
    manifest = {"schema": SCHEMA, "plan": plan.summary() if plan is not None else None,
                "exercises": [ex.id for ex in exercises], "proctor": proctor.__version__,
                "sha256": content_hash(out)}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    files = sorted(p for p in out.rglob("*") if p.is_file())
    if check_leaks:
        leaks = audit(out, library)
        if leaks:
            raise LeakError("the bundle would contain hidden material; nothing written:\n  "
                            + "\n  ".join(leaks[:20]))
    return files


def _row(ex: ExerciseDir, points: float | None = None, minutes: int | None = None) -> dict:
    s = ex.spec
    deliver = (", ".join(f"`artifacts/{s.id}/{a}`" for a in s.artifacts)
               if s.kind == "artifact" else f"`notebooks/{s.id}.ipynb`")
    return {"id": s.id, "title": s.title, "track": s.track, "kind": s.kind,
            "points": f"{s.points if points is None else points:g}",
            "minutes": s.suggested_minutes if minutes is None else minutes,
            "time_limit": f"{s.limits.time_limit_s:g}", "deliver": deliver}


def _duration(minutes: int) -> str:
    return f"{minutes // 60} hours" if minutes >= 120 and minutes % 60 == 0 else \
        f"{minutes} minutes"


def content_hash(root: Path) -> str:
    """The bundle's identity: every file but the manifest, by path and content (a
    candidate's work folder that started from it hashes differently, of course)."""
    root = Path(root)
    return tree_sha256(root, keep=lambda p: p != root / MANIFEST)


def read_manifest(root: Path) -> dict | None:
    """``bundle.json`` of a bundle (or of a work folder seeded from one), if readable."""
    try:
        data = json.loads((Path(root) / MANIFEST).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def expected_hash(library: Library, plan: InterviewPlan | None) -> str:
    """The content hash a bundle of ``plan`` built from this library has (built into a
    temporary folder, without the audit: nothing leaves this function but the hash)."""
    with tempfile.TemporaryDirectory(prefix="proctor-bundle-") as tmp:
        build(library, Path(tmp) / "b", check_leaks=False, plan=plan)
        return content_hash(Path(tmp) / "b")


def _refuse_escaping_links(public: Path) -> None:
    """A symlink in the public tree that points outside it could copy hidden files in."""
    for p in public.rglob("*"):
        if p.is_symlink():
            target = p.resolve()
            if not target.is_relative_to(public.resolve()):
                raise LeakError(f"{p}: symlink to {target} leaves {public}; "
                                "copy public files in instead")
