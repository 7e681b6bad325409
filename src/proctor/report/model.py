"""The report model (schema ``proctor.report/1``) and its JSON form.

Fields may be added, never renamed: report.json is read by tools outside proctor.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

SCHEMA = "proctor.report/1"
INCONCLUSIVE_SHARE = 0.5
SCORING = {
    "pass": 1.0, "fail": 0.0, "error": 0.0, "timeout": 0.0,
    "inconclusive": INCONCLUSIVE_SHARE,
    "rule": "pass earns max_points; inconclusive earns half (the measurement could not "
            "separate the result from the budget); fail, error and timeout earn 0",
}


@dataclass
class CheckResult:
    id: str
    kind: str
    status: str
    points: float
    max_points: float
    hidden: bool
    message: str = ""
    measured: dict[str, Any] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: where calibration's solutions fell on this budget, when known:
    #: ``{"accepted": [lo, hi], "rejected": [lo, hi]}`` in the budget's unit (drawn faintly)
    calibration: dict[str, Any] = field(default_factory=dict)


@dataclass
class ExerciseResult:
    id: str
    title: str
    status: str  # graded | missing | error
    score: float
    max_score: float
    checks: list[CheckResult] = field(default_factory=list)
    message: str = ""
    cell_errors: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""
    seconds: float = 0.0
    track: str = ""  # the exercise's track (algorithms, ml, cv, edge); "" when unknown
    skills: list[str] = field(default_factory=list)  # skills of the role it evidences
    #: the candidate's code as submitted (notebook code cells), for the interviewer's
    #: reading and for similarity review; capped, "" for an artifact-only submission
    source: str = ""


@dataclass
class Report:
    # name, sha256; the grader's received/graded times; "manifest": the candidate's claims
    submission: dict[str, Any]
    exercises: list[ExerciseResult]
    environment: dict[str, Any]
    problems: list[str] = field(default_factory=list)
    plan: dict[str, Any] | None = None  # graded as an interview plan: its weighted score

    @property
    def score(self) -> float:
        return round(sum(e.score for e in self.exercises), 4)

    @property
    def max_score(self) -> float:
        return round(sum(e.max_score for e in self.exercises), 4)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "submission": self.submission,
            "score": self.score,
            "max_score": self.max_score,
            "exercises": [asdict(e) for e in self.exercises],
            "environment": self.environment,
            "problems": self.problems,
            "scoring": SCORING,
            "plan": self.plan,
        }

    def write_json(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, default=_plain) + "\n")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        """A report read back from its JSON form (fields this version does not know are
        dropped; fields an older report lacks take their defaults)."""
        if d.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} report (schema {d.get('schema')!r})")
        exercises = []
        for e in d.get("exercises", []):
            checks = [CheckResult(**_known(CheckResult, c)) for c in e.get("checks", [])]
            exercises.append(ExerciseResult(**{**_known(ExerciseResult, e), "checks": checks}))
        plan = d.get("plan")
        return cls(dict(d["submission"]), exercises, dict(d.get("environment", {})),
                   list(d.get("problems", [])), plan if isinstance(plan, dict) else None)

    @classmethod
    def read_json(cls, path: Path) -> Report:
        return cls.from_dict(json.loads(Path(path).read_text()))


def points_for(status: str, max_points: float) -> float:
    return round(max_points * float(SCORING.get(status, 0.0)), 4)


def _known(kind: type, d: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in fields(kind)}
    return {k: v for k, v in d.items() if k in names}


def _plain(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return str(obj)
