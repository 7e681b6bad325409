"""Merging report folders graded elsewhere (the shards of a campaign graded on several
machines) into one gradebook, without regrading, refusing whatever would make it lie."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path
from typing import Any

from proctor.report.gradebook import write_gradebook
from proctor.report.model import SCHEMA, CheckResult, ExerciseResult, Report

SHARD_FILE = "shard.json"  # written by `proctor grade --shard`, read by the merge
SHARD_SCHEMA = "proctor.shard/1"


class MergeError(ValueError):
    """Merging these folders would give a misleading gradebook (mixed versions, duplicate
    submissions, missing shards); the message says what and what to do."""


@dataclasses.dataclass
class _Found:
    name: str
    folder: Path
    data: dict[str, Any]


def merge(dirs: list[Path], out: Path) -> list[tuple[str, Report]]:
    """Copy the ``<name>/`` report folders of ``dirs`` into ``out`` and write its gradebook,
    refusing (:class:`MergeError`) anything that would make it lie: a submission in two
    folders, reports graded with different engine or library versions, a shard missing or
    incomplete. ``out`` may be new, empty, one of ``dirs`` (rebuild in place) or a previous
    merge of the same folders."""
    problems: list[str] = []
    found = _collect(dirs, problems)
    order = _shard_order(dirs, found, out, problems)
    _same_versions(found, problems)
    _check_destination(found, dirs, out, problems)
    if problems:
        raise MergeError("\n".join(problems))
    out.mkdir(parents=True, exist_ok=True)
    for f in found.values():
        dest = out / f.name
        if dest.resolve() != f.folder.resolve():
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(f.folder, dest, symlinks=True)
    for d in dirs:  # then each folder's own order (its summary.json), then by name
        order += _summary_order(d) + sorted(f.name for f in found.values() if f.folder.parent == d)
    names = list(dict.fromkeys(n for n in order if n in found))
    graded = [(n, report_from_dict(found[n].data)) for n in names]
    write_gradebook(graded, out)
    return graded


def report_from_dict(d: dict[str, Any]) -> Report:
    """A report.json back as a :class:`Report` (fields added by later versions ignored)."""
    def pick(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
        names = {f.name for f in dataclasses.fields(cls)}
        return {k: v for k, v in raw.items() if k in names}

    exercises = [ExerciseResult(**{**pick(ExerciseResult, e),
                                   "checks": [CheckResult(**pick(CheckResult, c))
                                              for c in e.get("checks", [])]})
                 for e in d["exercises"]]
    plan = d.get("plan")
    return Report(d["submission"], exercises, d.get("environment", {}), d.get("problems", []),
                  plan if isinstance(plan, dict) else None)


def _collect(dirs: list[Path], problems: list[str]) -> dict[str, _Found]:
    found: dict[str, _Found] = {}
    seen: set[Path] = set()
    for d in dirs:
        if not d.is_dir():
            problems.append(f"{d}: no such folder")
            continue
        if d.resolve() in seen:
            problems.append(f"{d}: given twice")
            continue
        seen.add(d.resolve())
        reports = sorted(d.glob("*/report.json"))
        if not reports and not (d / SHARD_FILE).is_file() and not (d / "summary.json").is_file():
            problems.append(f"{d}: holds no <name>/report.json folders (expected the --out "
                            "folder of `proctor grade`)")
        for path in reports:
            try:
                data = json.loads(path.read_text())
                if data.get("schema") != SCHEMA:
                    raise ValueError(f"schema {data.get('schema')!r}, expected {SCHEMA!r}")
                if not isinstance(data.get("submission"), dict) or not isinstance(
                        data.get("exercises"), list):
                    raise ValueError("no submission or exercises")
            except (OSError, ValueError, AttributeError) as exc:
                problems.append(f"{path}: not a readable report ({exc})")
                continue
            name = path.parent.name
            if name in found:
                other = found[name]
                same = data["submission"].get("sha256") == other.data["submission"].get("sha256")
                problems.append(
                    f"duplicate submission {name!r}: in {other.folder.parent} and in {d} "
                    + ("(the same submission graded twice: merge each shard's folder once)"
                       if same else "(two different submissions with one name: grade them "
                       "in one run, which names them apart, or rename one)"))
                continue
            found[name] = _Found(name, path.parent, data)
    return found


def _shard_order(dirs: list[Path], found: dict[str, _Found], out: Path,
                 problems: list[str]) -> list[str]:
    """Check the shard folders among ``dirs`` form one whole campaign; return its inputs'
    order (the order a single-machine run would list them in)."""
    shards: list[tuple[Path, dict[str, Any]]] = []
    for d in dirs:
        try:
            shard = json.loads((d / SHARD_FILE).read_text())
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            problems.append(f"{d / SHARD_FILE}: unreadable ({exc})")
            continue
        if shard.get("schema") != SHARD_SCHEMA:
            problems.append(f"{d / SHARD_FILE}: schema {shard.get('schema')!r}, "
                            f"expected {SHARD_SCHEMA!r}")
            continue
        shards.append((d, shard))
        here = {f.name for f in found.values() if f.folder.parent == d}
        lacking = [n for n in shard["graded"] if n not in here]
        extra = sorted(here - set(shard["graded"]))
        label = f"shard {shard['shard']}/{shard['of']}"
        if lacking:
            problems.append(f"{d}: {label} is incomplete, no report for {_few(lacking)} "
                            "(did its grading finish? grade that shard again)")
        if extra:
            problems.append(f"{d}: holds reports that {label} did not grade: {_few(extra)} "
                            "(left from an earlier run? use a fresh --out per shard)")
        if len(dirs) > 1 and d.resolve() == out.resolve():
            problems.append(f"--out {out} is the folder of {label}: merge into a new folder")
    if not shards:
        return []
    first_dir, first = shards[0]
    for d, s in shards[1:]:
        if s["of"] != first["of"] or s["inputs"] != first["inputs"]:
            problems.append(f"{first_dir} ({first['shard']}/{first['of']}, "
                            f"{len(first['inputs'])} inputs) and {d} ({s['shard']}/{s['of']}, "
                            f"{len(s['inputs'])} inputs) are shards of different runs: every "
                            "shard must be given the same submissions and the same N")
            return []
    count = first["of"]
    indices = [s["shard"] for _, s in shards]
    twice = sorted({i for i in indices if indices.count(i) > 1})
    missing = sorted(set(range(count)) - set(indices))
    if twice:
        problems.append(f"shard(s) {', '.join(f'{i}/{count}' for i in twice)} given twice")
    if missing:
        problems.append(f"missing shard(s) {', '.join(f'{i}/{count}' for i in missing)}: "
                        f"a merge needs the folders of all {count} shards")
    return list(first["inputs"])


def _same_versions(found: dict[str, _Found], problems: list[str]) -> None:
    versions: dict[str, list[_Found]] = {}
    for f in found.values():
        v = json.dumps(f.data.get("environment", {}).get("library"), sort_keys=True)
        versions.setdefault(v, []).append(f)
    if len(versions) > 1:
        lines = [f"  {len(fs)} report(s), e.g. {fs[0].folder}: {_describe(json.loads(v))}"
                 for v, fs in versions.items()]
        problems.append("mixed library versions: these reports were graded by different "
                        "engines or exercise libraries, so their scores do not compare "
                        "(regrade them with one version):\n" + "\n".join(lines))


def _describe(version: dict[str, str] | None) -> str:
    if not version:
        return "unknown (graded before versions were recorded)"
    return (f"proctor {version.get('proctor')}, engine {str(version.get('engine_sha256'))[:12]}, "
            f"library {str(version.get('library_sha256'))[:12]}")


def _check_destination(found: dict[str, _Found], dirs: list[Path], out: Path,
                       problems: list[str]) -> None:
    """``out`` may hold only what the merge would write there anyway."""
    if any(d.resolve() == out.resolve() for d in dirs) or not out.is_dir():
        return
    strangers = []
    for path in sorted(out.glob("*/report.json")):
        f = found.get(path.parent.name)
        if f is None:
            strangers.append(path.parent.name)
        elif path.read_bytes() != (f.folder / "report.json").read_bytes():
            problems.append(f"{path.parent} holds a different report than {f.folder}: "
                            "merge into a new folder")
    if strangers:
        problems.append(f"{out} already holds reports that are not among the inputs: "
                        f"{_few(strangers)} (merge into an empty folder, or pass {out} as an "
                        "input too)")


def _summary_order(d: Path) -> list[str]:
    try:
        return [row["name"] for row in json.loads((d / "summary.json").read_text())]
    except (OSError, ValueError, TypeError, KeyError):
        return []


def _few(names: list[str], most: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
