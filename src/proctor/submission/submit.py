"""``proctor submit``: pack a bundle's notebooks and artifacts into one zip.

The zip holds ``notebooks/<id>.ipynb``, ``artifacts/<id>/...`` and a
``manifest.json`` (schema ``proctor.submission/1``: every file's size and sha256,
what each exercise delivers, the warnings; and what the submission says of itself: the
plan and bundle it was made from, the proctor version, the session's start and deadline,
when it was submitted, whether it is the deadline snapshot, and per notebook when it was
last changed and whether its code differs from the starter).  The container is the
candidate's, so the grader reports those as the candidate's claims.

It is exactly what ``proctor grade`` accepts: after writing, the zip is re-opened with the
grader's own intake (``proctor.submission.intake``) and every exercise is resolved the way
grading resolves it, so a zip that grading would reject is never handed over silently.

Missing exercises, untouched starters and oversized artifacts are warnings; only
files that grading would refuse outright (too large, too many) are errors.
"""

from __future__ import annotations

import hashlib
import json
import stat
import sys
import time
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import proctor
from proctor import clock
from proctor.kinds import get_kind
from proctor.library.bundle import read_manifest
from proctor.library.spec import ExerciseDir, Library
from proctor.submission import intake
from proctor.units import BYTE_UNITS

SCHEMA = "proctor.submission/1"
#: Where a work folder keeps its session (written by proctor.candidate.session).
SESSION_FILE = ".proctor/session.json"
ARTIFACT_WARN_BYTES = 50 << 20
# Stay well clear of the grader's zip-bomb ratio cap: store such files uncompressed.
_STORE_RATIO = intake.MAX_RATIO / 4
_FILE_MODE = (stat.S_IFREG | 0o644) << 16  # a regular file: intake refuses anything else


@dataclass
class Packed:
    """What ``pack`` did: the files it kept, its warnings and errors."""

    files: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    exercises: dict[str, dict] = field(default_factory=dict)


def pack(bundle: Path, out: Path, library: Library | None, deadline_snapshot: bool = False,
         now: Callable[[], float] = clock.now) -> int:
    """Write the submission zip; print warnings to stderr; 0 on success, 1 on error."""
    bundle, out = Path(bundle), Path(out)
    result = build(bundle, out, library, deadline_snapshot, now)
    for w in result.warnings:
        print(f"warning: {w}", file=sys.stderr)
    for e in result.errors:
        print(f"error: {e}", file=sys.stderr)
    if result.errors:
        print(f"proctor submit: nothing written ({len(result.errors)} error(s) above)",
              file=sys.stderr)
        return 1
    total = sum(f["bytes"] for f in result.files)
    print(f"wrote {out} ({len(result.files)} files, {total / 1e6:.2f} MB uncompressed)")
    for ex_id, info in result.exercises.items():
        print(f"  {ex_id:<28} {info['status']}")
    print("send this zip file to your interviewer; it is exactly what will be graded")
    return 0


def read_session(bundle: Path) -> dict | None:
    """The work folder's session record, if the container started one."""
    try:
        data = json.loads((Path(bundle) / SESSION_FILE).read_text())
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def claims(bundle: Path, deadline_snapshot: bool, submitted: float) -> dict:
    """What the submission says of itself (see the module docstring)."""
    made_from = read_manifest(bundle) or {}
    plan = made_from.get("plan") if isinstance(made_from.get("plan"), dict) else {}
    session = read_session(bundle)
    keep = ("started", "started_epoch", "deadline", "deadline_epoch", "minutes")
    return {"plan": plan.get("name"),
            "bundle": {"sha256": made_from.get("sha256"), "proctor": made_from.get("proctor"),
                       "plan": plan.get("name")},
            "session": {k: session.get(k) for k in keep} if session else None,
            "submitted": clock.iso(submitted), "submitted_epoch": round(submitted, 3),
            "deadline_snapshot": deadline_snapshot}


def build(bundle: Path, out: Path, library: Library | None, deadline_snapshot: bool = False,
          now: Callable[[], float] = clock.now) -> Packed:
    res = Packed()
    if not (bundle / "notebooks").is_dir():
        res.errors.append(f"{bundle.resolve()}: no notebooks/ folder here; run "
                          "`proctor submit` in your bundle folder or pass --bundle DIR")
        return res
    out_abs = out.resolve()
    kept: list[tuple[Path, str]] = []
    for sub in ("notebooks", "artifacts"):
        base = bundle / sub
        if not base.is_dir():
            continue
        for p in sorted(base.rglob("*")):
            rel = p.relative_to(bundle)
            if any(part.startswith(".") for part in rel.parts) or "__pycache__" in rel.parts:
                continue  # .ipynb_checkpoints, editor files
            if p.is_symlink():
                res.warnings.append(f"{rel.as_posix()}: symlink skipped (copy the file instead)")
            elif p.is_file() and p.resolve() != out_abs:
                kept.append((p, rel.as_posix()))
    if len(kept) + 1 > intake.MAX_ENTRIES:
        res.errors.append(f"{len(kept)} files: more than grading accepts ({intake.MAX_ENTRIES})")
    total = 0
    for p, rel in kept:
        size = p.stat().st_size
        total += size
        if size > intake.MAX_FILE_BYTES:
            res.errors.append(f"{rel}: {size / 1e6:.0f} MB is larger than grading accepts "
                              f"({intake.MAX_FILE_BYTES / 1e6:.0f} MB per file)")
        elif rel.startswith("artifacts/") and size > ARTIFACT_WARN_BYTES:
            res.warnings.append(f"{rel}: {size / 1e6:.1f} MB is large; check the size budget")
    if total > intake.MAX_TOTAL_BYTES:
        res.errors.append(f"{total / 1e6:.0f} MB in all: more than grading accepts "
                          f"({intake.MAX_TOTAL_BYTES / 1e6:.0f} MB)")
    if library is not None:
        _check_exercises(bundle, library, {rel for _, rel in kept}, res)
    if res.errors:
        return res

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.stem + ".partial.zip")
    with zipfile.ZipFile(tmp, "w") as zf:
        for p, rel in kept:
            data = p.read_bytes()
            res.files.append({"path": rel, "bytes": len(data),
                              "sha256": hashlib.sha256(data).hexdigest()})
            _write(zf, rel, data)
        manifest = {"schema": SCHEMA, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                    "proctor": proctor.__version__,
                    **claims(bundle, deadline_snapshot, now()), "files": res.files,
                    "exercises": res.exercises, "warnings": res.warnings}
        _write(zf, "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
    problem = verify(tmp, library, res.files)
    if problem:
        tmp.unlink()
        res.errors.append(f"the zip would not be accepted by grading: {problem}")
        return res
    tmp.replace(out)
    return res


def _write(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=time.localtime(time.time())[:6])
    info.external_attr = _FILE_MODE
    ratio = len(data) / max(1, len(zlib.compress(data, 1))) if data else 1.0
    info.compress_type = zipfile.ZIP_STORED if ratio > _STORE_RATIO else zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def _byte_limit(ex: ExerciseDir) -> int | None:
    """The smallest 'max' in bytes of a budget whose kind limits the submitted files (size),
    if the spec has one."""
    limits = []
    for b in ex.spec.budgets.values():
        unit = b.unit.strip().lower()
        if get_kind(b.kind).limits_files and b.max is not None and unit in BYTE_UNITS:
            limits.append(int(b.max * BYTE_UNITS[unit]))
    return min(limits) if limits else None


def _check_exercises(bundle: Path, library: Library, kept: set[str], res: Packed) -> None:
    from proctor.library import notebooks as nbgen
    from proctor.submission.notebook import NotebookError, code_cells, read_notebook

    known = set()
    for ex in library.all():
        known.add(ex.id)
        nb_rel = f"notebooks/{ex.id}.ipynb"
        info: dict = {"kind": ex.spec.kind, "notebook": nb_rel in kept, "artifacts": []}
        status = "notebook"
        if nb_rel not in kept:
            status = "MISSING (no notebook)"
            if ex.spec.kind == "code":
                res.warnings.append(f"{ex.id}: {nb_rel} is missing; this exercise will be "
                                    "graded as missing")
            else:
                res.warnings.append(f"{ex.id}: {nb_rel} is missing; the interviewer reads it "
                                    "to see how you built the artifact")
        else:
            info["notebook_modified"] = clock.iso((bundle / nb_rel).stat().st_mtime)
            try:
                cells = code_cells(read_notebook(bundle / nb_rel))
                starter = code_cells(_parse(nbgen.render(ex)))
                info["changed_from_starter"] = cells != starter
                if ex.spec.kind == "code" and cells == starter:
                    status = "untouched starter"
                    res.warnings.append(f"{ex.id}: {nb_rel} is the unchanged starter "
                                        "(not attempted?)")
            except NotebookError as exc:
                status = "UNREADABLE notebook"
                res.warnings.append(f"{ex.id}: {exc}; grading will report an error")
        limit = _byte_limit(ex)
        for rel in sorted(r for r in kept if r.startswith(f"artifacts/{ex.id}/")):
            info["artifacts"].append(rel)
            size = (bundle / rel).stat().st_size
            if limit is not None and size > limit:
                res.warnings.append(f"{rel}: {size:,} bytes is over the size budget "
                                    f"({limit:,} bytes)")
        for a in ex.spec.artifacts:
            if f"artifacts/{ex.id}/{a}" not in kept:
                status = f"MISSING artifacts/{ex.id}/{a}"
                res.warnings.append(f"{ex.id}: artifacts/{ex.id}/{a} is missing; this "
                                    "exercise will be graded as missing")
        if ex.spec.kind == "artifact" and status == "notebook":
            status = "artifact" + ("s" if len(ex.spec.artifacts) > 1 else "") + " + notebook"
        info["status"] = status
        res.exercises[ex.id] = info
    for rel in sorted(kept):
        parts = rel.split("/")
        if parts[0] == "notebooks" and (len(parts) > 2 or Path(parts[1]).stem not in known):
            res.warnings.append(f"{rel}: not an exercise notebook; included but not graded")


def _parse(text: str):
    from proctor.nbio import nbformat

    return nbformat.reads(text, as_version=4)


def verify(zip_path: Path, library: Library | None, files: list[dict]) -> str | None:
    """Open the zip exactly as ``proctor grade`` does; a reason string if it would fail."""
    from proctor.grading.exercise import candidate_source
    from proctor.submission.notebook import NotebookError

    try:
        sub = intake.open_submission(zip_path)
    except intake.IntakeError as exc:
        return str(exc)
    with sub:
        for f in files:
            p = sub.root / f["path"]
            if not p.is_file() or hashlib.sha256(p.read_bytes()).hexdigest() != f["sha256"]:
                return f"{f['path']} did not round-trip"
        if library is None:
            return None
        for ex in library.all():
            try:
                candidate_source(ex, sub.notebook(ex.id), sub.artifact_dir(ex.id))
            except NotebookError:
                pass  # already warned about; grading reports it for that exercise only
            except (OSError, UnicodeDecodeError) as exc:
                return f"{ex.id}: {type(exc).__name__}: {exc}"
    return None
