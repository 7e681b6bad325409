"""Exercise specs (``exercises/<id>/exercise.toml``) and where their parts live.

A spec is validated on load so that a typo in a budget or a missing field is an
error naming the file and the field, not a surprise halfway through grading.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from proctor.kinds import budget_kind_names
from proctor.paths import checkout_root

#: The library's tracks; a new track is added here (scaffold and CLI read it).
Track = Literal["algorithms", "ml", "cv", "edge"]
TRACKS: tuple[str, ...] = get_args(Track)


class SpecError(ValueError):
    """An exercise spec (or the library layout) is invalid."""


class Budget(BaseModel):
    """A limit on a measured quantity; checks read it by name."""

    model_config = ConfigDict(extra="forbid")
    kind: str
    max: float | None = None
    min: float | None = None
    unit: str = ""
    description: str = ""

    @field_validator("kind", mode="before")
    @classmethod
    def _registered_kind(cls, value: object) -> object:
        """A registered kind that may have budgets (proctor.kinds), worded as pydantic
        words a wrong choice."""
        names = budget_kind_names()
        if value not in names:
            quoted = [repr(n) for n in names]
            choices = " or ".join(filter(None, [", ".join(quoted[:-1]), *quoted[-1:]]))
            raise PydanticCustomError("literal_error", "Input should be {expected}",
                                      {"expected": choices})
        return value

    @model_validator(mode="after")
    def _one_bound(self) -> Budget:
        if (self.max is None) == (self.min is None):
            raise ValueError("a budget needs exactly one of 'max' or 'min'")
        return self

    def as_dict(self) -> dict:
        return self.model_dump(exclude_none=True, exclude={"description"})


class Limits(BaseModel):
    """Execution limits for one worker while grading this exercise."""

    model_config = ConfigDict(extra="forbid")
    time_limit_s: float = Field(60.0, gt=0, description="running the notebook's cells")
    call_timeout_s: float = Field(30.0, gt=0, description="one call through the boundary")
    memory_mb: int = Field(2048, gt=0)


class Exercise(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str
    track: Track
    kind: Literal["code", "artifact"]
    points: float = Field(gt=0)
    suggested_minutes: int = Field(gt=0, description="solving time shown to candidates")
    skills: list[str] = Field(default_factory=list,
                              description="skills of the role it evidences beyond its track "
                                          "(e.g. '3D geometry'): the report's competency profile")
    interface: dict[str, str] = Field(default_factory=dict)
    artifacts: list[str] = Field(default_factory=list, description="files under artifacts/<id>/")
    runner: str | None = Field(None,
                               description="artifact kind: public module that serves the file")
    reference_artifact: str | None = None
    forbidden_imports: list[str] = Field(
        default_factory=list,
        description="top-level packages a candidate's code may not import (the prompt's "
                    "allowed-libraries rule, refused by name in the worker: a visible rule, "
                    "not a wall against vendored code)")
    limits: Limits = Field(default_factory=Limits)
    budgets: dict[str, Budget] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _kind_fields(self) -> Exercise:
        if self.kind == "artifact" and not (self.artifacts and self.runner):
            raise ValueError("an artifact exercise needs 'artifacts' and 'runner'")
        return self


@dataclass(frozen=True)
class ExerciseDir:
    """One exercise's public spec plus where its hidden parts live."""

    spec: Exercise
    public_dir: Path
    grader_dir: Path
    solutions_dir: Path

    @property
    def id(self) -> str:
        return self.spec.id

    @cached_property
    def starter(self) -> str:
        return (self.public_dir / "starter.py").read_text()

    @cached_property
    def prompt(self) -> str:
        return (self.public_dir / "prompt.md").read_text()

    @property
    def data_dir(self) -> Path:
        return self.public_dir / "data"


def load_spec(path: Path) -> Exercise:
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from None
    try:
        spec = Exercise.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"field '{'.'.join(str(p) for p in e['loc']) or '<root>'}': {e['msg']}"
            for e in exc.errors()
        )
        raise SpecError(f"{path}: {problems}") from None
    if spec.id != path.parent.name:
        raise SpecError(f"{path}: field 'id': {spec.id!r} does not match "
                        f"folder {path.parent.name!r}")
    for name in ("prompt.md", "starter.py"):
        if not (path.parent / name).is_file():
            raise SpecError(f"{path.parent / name}: missing (every exercise needs it)")
    return spec


@dataclass(frozen=True)
class Library:
    """The exercise library rooted at a checkout: exercises/, graders/, reference_solutions/."""

    root: Path

    @classmethod
    def find(cls, root: str | os.PathLike | None = None) -> Library:
        candidates = [Path(root)] if root else [Path(os.environ.get("PROCTOR_ROOT", Path.cwd()))]
        if not root and checkout_root() is not None:
            candidates.append(checkout_root())
        for c in candidates:
            if (c / "exercises").is_dir():
                return cls(c.resolve())
        raise SpecError(f"no exercises/ folder under {candidates[0]} (set --root or PROCTOR_ROOT)")

    def ids(self) -> list[str]:
        base = self.root / "exercises"
        return sorted(
            p.name for p in base.iterdir() if (p / "exercise.toml").is_file() and p.name[0] != "_"
        )

    def get(self, exercise_id: str) -> ExerciseDir:
        public = self.root / "exercises" / exercise_id
        if not (public / "exercise.toml").is_file():
            raise SpecError(f"unknown exercise {exercise_id!r} (no {public / 'exercise.toml'})")
        return ExerciseDir(
            spec=load_spec(public / "exercise.toml"),
            public_dir=public,
            grader_dir=self.root / "graders" / exercise_id,
            solutions_dir=self.root / "reference_solutions" / exercise_id,
        )

    def all(self) -> list[ExerciseDir]:
        return [self.get(i) for i in self.ids()]
