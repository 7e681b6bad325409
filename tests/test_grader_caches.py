"""Graders' per-grading caches: what one worker answered is reused only for that worker
(its channel is the key), and trusted data shared by checks is read-only."""

from __future__ import annotations

import types
from pathlib import Path

import numpy as np
import pytest

from proctor.checks import load_checks

ROOT = Path(__file__).resolve().parent.parent


def _grader(exercise: str) -> dict:
    """The globals of a freshly loaded grader module (as grading loads it)."""
    defs = load_checks(ROOT / "graders" / exercise / "checks.py", hidden=True)
    return defs[0].fn.__globals__


class _Detector:
    """A stand-in candidate: a channel object and a counting, empty predict."""

    def __init__(self) -> None:
        self.client = object()
        self.calls = 0

    def predict(self, images: np.ndarray) -> list[dict]:
        self.calls += 1
        return [{"boxes": np.zeros((0, 4), np.float32), "scores": np.zeros(0, np.float32),
                 "labels": np.zeros(0, np.int64)} for _ in images]


def _ctx(candidate: object, seed: int = 5) -> types.SimpleNamespace:
    return types.SimpleNamespace(candidate=candidate, seed=seed)


def test_detection_hidden_eval_once_per_worker(monkeypatch):
    g = _grader("detection")
    g["HIDDEN_IMAGES"], g["EVAL_BATCH"] = 6, 3
    first, other = _Detector(), _Detector()
    r = g["_hidden_eval"](_ctx(first))
    assert first.calls == 2 and r["images"] == 6
    assert g["_hidden_eval"](_ctx(first)) is r and first.calls == 2  # ap50 then ap: once
    assert g["_hidden_eval"](_ctx(other)) is not r and other.calls == 2  # another worker
    restarted = _Detector()  # a restarted worker has a new channel: it predicts again
    g["_hidden_eval"](_ctx(restarted))
    assert restarted.calls == 2


@pytest.mark.parametrize("exercise", ["detection"])
def test_grader_module_is_loaded_afresh(exercise):
    """Each load is a new module: nothing cached there outlives one exercise's grading."""
    a, b = _grader(exercise), _grader(exercise)
    assert a is not b and a["_hidden"] is not b["_hidden"]
