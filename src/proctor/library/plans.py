"""Interview plans (``interviews/<plan>.toml``): one stage of an interview loop.

A plan names the exercises of a stage, their point weights and suggested minutes, the
stage's time box, the instructions shown to the candidate and which public material the
bundle carries.  It is validated on load like an exercise spec: an error names the file
and the field, and an exercise id the library does not have is refused.

    title = "Technical screen: coding and ML fundamentals"
    stage = "screen"
    minutes = 60
    instructions = "..."

    [[exercises]]
    id = "box_ops"
    minutes = 25          # suggested in this plan (default: the exercise's own)
    points = 20           # its weight here (default: the exercise's own points)

    [material]
    public_checks = true  # ship exercises/<id>/checks.py, so check() works
    shared = false        # exercises/_shared (default: when an exercise needs it)

``all_exercises = true`` instead of ``[[exercises]]`` takes every exercise of the
library (the ``full`` plan), so that a new exercise joins it without an edit.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from proctor.library.spec import ExerciseDir, Library, SpecError

#: The stages of an interview loop; a new stage is added here.
Stage = Literal["screen", "onsite", "modelling", "deep-dive", "take-home"]
STAGES: tuple[str, ...] = get_args(Stage)
PLANS_DIR = "interviews"
NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class PlanExercise(BaseModel):
    """One exercise of a plan, optionally re-weighted and re-timed for this stage."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    points: float | None = Field(None, gt=0, description="its weight in this plan "
                                 "(default: the exercise's own points)")
    minutes: int | None = Field(None, gt=0, description="suggested minutes in this plan "
                                "(default: the exercise's suggested_minutes)")


class Material(BaseModel):
    """Which public material the bundle carries besides the notebooks and prompts."""

    model_config = ConfigDict(extra="forbid")
    public_checks: bool = Field(True, description="exercises/<id>/checks.py: what check() runs")
    shared: bool | None = Field(None, description="exercises/_shared (baseline models, the "
                                "ONNX runner); default: when an exercise of the plan needs it")


class PlanSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1)
    stage: Stage
    minutes: int = Field(gt=0, description="the time box, from the candidate's first start")
    instructions: str = Field(min_length=1, description="shown to the candidate (Markdown)")
    exercises: list[PlanExercise] = Field(default_factory=list)
    all_exercises: bool = False
    material: Material = Field(default_factory=Material)

    @model_validator(mode="after")
    def _exercises(self) -> PlanSpec:
        if self.all_exercises == bool(self.exercises):
            raise ValueError("a plan needs exactly one of '[[exercises]]' or "
                             "'all_exercises = true'")
        ids = [e.id for e in self.exercises]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"exercises listed twice: {', '.join(twice)}")
        return self


@dataclass(frozen=True)
class PlanItem:
    """An exercise as this plan uses it."""

    exercise: ExerciseDir
    points: float
    minutes: int

    @property
    def id(self) -> str:
        return self.exercise.id

    @property
    def weight(self) -> float:
        """Plan points per exercise point: an exercise score times this is its plan score."""
        return self.points / self.exercise.spec.points


@dataclass(frozen=True)
class InterviewPlan:
    """A validated plan, its exercises resolved against the library."""

    name: str
    spec: PlanSpec
    items: tuple[PlanItem, ...]
    path: Path

    @property
    def ids(self) -> list[str]:
        return [i.id for i in self.items]

    @property
    def points(self) -> float:
        return sum(i.points for i in self.items)

    def item(self, exercise_id: str) -> PlanItem | None:
        return next((i for i in self.items if i.id == exercise_id), None)

    def ships_shared(self) -> bool:
        m = self.spec.material.shared
        return any(needs_shared(i.exercise) for i in self.items) if m is None else m

    def summary(self) -> dict:
        """What a bundle manifest and a report record of the plan."""
        s = self.spec
        return {"name": self.name, "title": s.title, "stage": s.stage, "minutes": s.minutes,
                "points": self.points,
                "exercises": [{"id": i.id, "points": i.points, "minutes": i.minutes,
                               "weight": round(i.weight, 6)} for i in self.items]}


def needs_shared(ex: ExerciseDir) -> bool:
    """True when the exercise's public files use ``exercises/_shared`` (a shared runner,
    baseline models, check helpers)."""
    if ex.spec.runner and "_shared" in Path(ex.spec.runner).parts:
        return True
    for p in ex.public_dir.rglob("*.py"):
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError):
            continue
        if re.search(r"[\"'/]_shared[\"'/]", text):
            return True
    return False


def plan_names(library: Library) -> list[str]:
    base = library.root / PLANS_DIR
    if not base.is_dir():
        return []
    return sorted(p.stem for p in base.glob("*.toml") if not p.name.startswith(("_", ".")))


def get_plan(library: Library, name: str) -> InterviewPlan:
    """The plan ``interviews/<name>.toml``; SpecError naming the choices when it is absent."""
    path = library.root / PLANS_DIR / f"{name}.toml"
    if not NAME.match(name) or not path.is_file():
        known = ", ".join(plan_names(library)) or "none"
        raise SpecError(f"unknown plan {name!r} (plans in {library.root / PLANS_DIR}: {known})")
    return load_plan(path, library)


def all_plans(library: Library) -> list[InterviewPlan]:
    return [get_plan(library, n) for n in plan_names(library)]


def _field_error(path: Path, loc: str, msg: str) -> SpecError:
    return SpecError(f"{path}: field '{loc}': {msg}")


def load_plan(path: Path, library: Library) -> InterviewPlan:
    """Read and validate one plan file against ``library``."""
    path = Path(path)
    if not NAME.match(path.stem):
        raise SpecError(f"{path}: a plan's file name must match {NAME.pattern} (it is the "
                        "plan's name on the command line)")
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    try:
        spec = PlanSpec.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in e['loc']) or '<root>'}': {e['msg']}"
            for e in exc.errors())
        raise SpecError(f"{path}: {problems}") from None
    known = library.ids()
    entries = spec.exercises or [PlanExercise(id=i) for i in known]
    items = []
    for n, e in enumerate(entries):
        if e.id not in known:
            raise _field_error(path, f"exercises.{n}.id",
                               f"unknown exercise {e.id!r} (known: {', '.join(known)})")
        ex = library.get(e.id)
        items.append(PlanItem(ex, float(e.points if e.points is not None else ex.spec.points),
                              e.minutes or ex.spec.suggested_minutes))
    total = sum(i.minutes for i in items)
    if total > spec.minutes:
        raise _field_error(path, "minutes",
                           f"{spec.minutes} is less than the exercises' suggested minutes "
                           f"({total}); give the exercises fewer 'minutes' in this plan or "
                           "raise the time box")
    if spec.material.shared is False:
        needy = [i.id for i in items if needs_shared(i.exercise)]
        if needy:
            raise _field_error(path, "material.shared",
                               f"false, but {', '.join(needy)} need exercises/_shared")
    return InterviewPlan(path.stem, spec, tuple(items), path)
