"""Grading as an interview plan, and what a submission says about itself.

A submission zip's ``manifest.json`` (written by ``proctor submit`` in the candidate's
container) says which plan and bundle it was made from, when the session started, when it
was submitted, whether it is the deadline snapshot, and when each notebook was last
changed.  The container is the candidate's, so these are *claims*: read as hostile data
(size-capped, type-checked, only known fields kept) and reported as such, next to what
the grader itself knows (when the file reached it, when it was graded).
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from proctor.clock import iso
from proctor.library.bundle import expected_hash
from proctor.library.plans import InterviewPlan
from proctor.library.spec import Library
from proctor.report.model import Report
from proctor.submission.intake import Submission

MAX_MANIFEST_BYTES = 1 << 20
MAX_TEXT = 200
MAX_NOTEBOOKS = 200
_hashes: dict[tuple[str, str], str | None] = {}
_lock = threading.Lock()


def ids_to_grade(plan: InterviewPlan | None, exercise_ids: list[str] | None,
                 library: Library) -> list[str]:
    if plan is None:
        return exercise_ids or library.ids()
    return [i for i in plan.ids if not exercise_ids or i in exercise_ids]


# -- the candidate's claims ------------------------------------------------------------

def _text(v: Any) -> str | None:
    return v[:MAX_TEXT] if isinstance(v, str) else None


def _number(v: Any) -> float | None:
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and v == v and abs(v) < 1e12
    return float(v) if ok else None


def _flag(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def claims(sub: Submission) -> dict | None:
    """The fields of the submission's ``manifest.json`` that describe it, or None when
    there is no readable manifest (a folder handed in without ``proctor submit``)."""
    if sub.single:  # one solution file: its folder's files are not part of it
        return None
    path = sub.root / "manifest.json"
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_MANIFEST_BYTES:
            return None
        raw = json.loads(path.read_text())
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(raw, dict):
        return None
    bundle = raw.get("bundle") if isinstance(raw.get("bundle"), dict) else {}
    session = raw.get("session") if isinstance(raw.get("session"), dict) else {}
    out: dict[str, Any] = {
        "schema": _text(raw.get("schema")), "proctor": _text(raw.get("proctor")),
        "plan": _text(raw.get("plan")),
        "bundle_sha256": _text(bundle.get("sha256")),
        "bundle_proctor": _text(bundle.get("proctor")),
        "session_started": _text(session.get("started")),
        "session_started_epoch": _number(session.get("started_epoch")),
        "deadline": _text(session.get("deadline")),
        "deadline_epoch": _number(session.get("deadline_epoch")),
        "minutes": _number(session.get("minutes")),
        "submitted": _text(raw.get("submitted")),
        "submitted_epoch": _number(raw.get("submitted_epoch")),
        "deadline_snapshot": _flag(raw.get("deadline_snapshot")),
    }
    notebooks = {}
    exercises = raw.get("exercises") if isinstance(raw.get("exercises"), dict) else {}
    for ex_id, info in list(exercises.items())[:MAX_NOTEBOOKS]:
        if isinstance(ex_id, str) and isinstance(info, dict):
            notebooks[ex_id[:MAX_TEXT]] = {"modified": _text(info.get("notebook_modified")),
                                           "changed": _flag(info.get("changed_from_starter"))}
    out["notebooks"] = notebooks
    return out


def grader_facts(path: Path) -> dict:
    """What the grader knows itself: when the file (or folder) reached its disk, and now."""
    now = time.time()  # the grader's own clock, never the candidate's
    try:
        received = iso(Path(path).stat().st_mtime)
    except OSError:
        received = None
    return {"received": received, "graded": iso(now)}


# -- the plan --------------------------------------------------------------------------

def bundle_hash(library: Library, plan: InterviewPlan) -> str | None:
    """The content hash of this plan's bundle as this library builds it (once per run)."""
    key = (str(library.root), plan.name)
    with _lock:
        if key not in _hashes:
            try:
                _hashes[key] = expected_hash(library, plan)
            except Exception:  # a broken exercise elsewhere: the comparison is skipped
                _hashes[key] = None
        return _hashes[key]


def outside(sub: Submission, plan: InterviewPlan) -> list[str]:
    """Exercise ids the submission delivers that the plan does not grade."""
    found = set()
    nb = sub.root / "notebooks"
    if nb.is_dir() and not nb.is_symlink():
        found |= {p.stem for p in nb.glob("*.ipynb") if not p.name.startswith(".")}
    art = sub.root / "artifacts"
    if art.is_dir() and not art.is_symlink():
        found |= {p.name for p in art.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and any(p.iterdir())}
    found |= set(sub.single)
    return sorted(found - set(plan.ids))


def plan_section(plan: InterviewPlan, report: Report, said: dict | None,
                 expected: str | None, ignored: list[str]) -> dict:
    """``report["plan"]``: the plan, its weighted score, and warnings about a submission
    that says it came from another plan or bundle."""
    warnings, notes = [], []
    if said is None:
        notes.append("the submission has no readable manifest.json (it was not packed by "
                     f"`proctor submit`): whether it was made from plan {plan.name!r} is unknown")
    else:
        if said["plan"] != plan.name:
            made = f"plan {said['plan']!r}" if said["plan"] else "a bundle without a plan"
            warnings.append(f"made from {made} (its manifest says), graded as plan "
                            f"{plan.name!r}: prompts, exercises and time box may differ")
        elif expected and said["bundle_sha256"] != expected:
            warnings.append(f"made from another version of the {plan.name!r} bundle (bundle "
                            f"sha256 {str(said['bundle_sha256'])[:12]}…, this library builds "
                            f"{expected[:12]}…): its prompts or starters may differ from what "
                            "was graded")
    for ex_id in ignored:
        notes.append(f"{ex_id}: in the submission but not in plan {plan.name!r}; ignored")
    rows = []
    for e in report.exercises:
        item = plan.item(e.id)
        w = item.weight if item is not None else 1.0
        rows.append({"id": e.id, "weight": round(w, 6), "score": round(e.score * w, 4),
                     "max_score": round(e.max_score * w, 4)})
    section = plan.summary()
    section.update({"score": round(sum(r["score"] for r in rows), 4),
                    "max_score": round(sum(r["max_score"] for r in rows), 4),
                    "graded": rows, "bundle_sha256": expected, "warnings": warnings,
                    "notes": notes, "ignored": ignored})
    return section


def after_deadline(said: dict | None) -> str | None:
    """A note when the candidate's own clock says they submitted after the deadline."""
    if not said or said.get("deadline_snapshot"):
        return None
    sub, dl = said.get("submitted_epoch"), said.get("deadline_epoch")
    if sub is not None and dl is not None and sub > dl:
        return (f"submitted {round((sub - dl) / 60):g} min after the session's deadline "
                "(by the candidate's own clock)")
    return None


def annotate(report: Report, path: Path, sub: Submission, library: Library,
             plan: InterviewPlan | None) -> None:
    """Add the claims, the grader's facts and (with a plan) the plan section to a report."""
    said = claims(sub)
    report.submission.update(grader_facts(path))
    report.submission["manifest"] = said
    late = after_deadline(said)
    if late:
        report.problems.append(late)
    if plan is not None:
        report.plan = plan_section(plan, report, said, bundle_hash(library, plan),
                                   outside(sub, plan))
        report.problems += [f"plan: {w}" for w in report.plan["warnings"]]


__all__ = ["annotate", "claims", "grader_facts", "ids_to_grade", "plan_section"]
