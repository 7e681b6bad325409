"""Checks: plain functions with pytest-style asserts, declared with ``@check``.

A check module is ``exercises/<id>/checks.py`` (public) or ``graders/<id>/checks.py``
(hidden).  Each check takes a ``Context`` and either returns ``None`` (pass), returns
an ``Outcome`` (budget checks), or raises ``AssertionError`` (fail).  Modules are
compiled with pytest's assertion rewriting so that a bare ``assert a == b`` explains
itself in the report.  Checks run in the trusted grader process only.
"""

from __future__ import annotations

import ast
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from _pytest.assertion.rewrite import rewrite_asserts

from proctor.worker.client import CandidateError, WorkerError
from proctor.worker.codec import CodecError

if TYPE_CHECKING:
    from proctor.checks.context import Context

from proctor.kinds import get_kind
from proctor.verdicts import MAX_MESSAGE, Outcome


@dataclass(frozen=True)
class CheckDef:
    id: str
    fn: Callable[[Context], Outcome | None]
    points: float
    kind: str
    hidden: bool
    budget: str | None
    doc: str
    source: str


def check(points: float, kind: str = "correctness", budget: str | None = None) -> Callable:
    """Declare a graded check of a registered kind (proctor.kinds); ``budget`` names an
    entry of the spec's ``[budgets]``."""
    get_kind(kind)  # ValueError naming the known kinds

    def mark(fn: Callable) -> Callable:
        fn.__proctor_check__ = {"points": float(points), "kind": kind, "budget": budget}
        return fn

    return mark


class CheckLoadError(ValueError):
    pass


def load_checks(path: Path, hidden: bool) -> list[CheckDef]:
    """Compile a check module with assertion rewriting and collect its checks in order."""
    source = path.read_bytes()
    try:
        tree = ast.parse(source, filename=str(path))
        rewrite_asserts(tree, source, str(path))
        code = compile(tree, str(path), "exec")
    except SyntaxError as exc:
        raise CheckLoadError(f"{path}: {exc}") from None
    side = "hidden" if hidden else "public"
    module = types.ModuleType(f"proctor_checks_{path.parent.name}_{side}")
    module.__file__ = str(path)
    try:
        exec(code, module.__dict__)
    except Exception as exc:
        raise CheckLoadError(f"{path}: importing failed: {type(exc).__name__}: {exc}") from None
    found = []
    for name, fn in module.__dict__.items():
        meta = getattr(fn, "__proctor_check__", None)
        if meta is None or getattr(fn, "__module__", None) != module.__name__:
            continue
        found.append(CheckDef(id=name, fn=fn, hidden=hidden, doc=(fn.__doc__ or "").strip(),
                              source=str(path), **meta))
    return found


def _assertion_text(text: str) -> str:
    """An author's assertion message as written: pytest's rewriting appends its
    introspection (``assert np.False_ + where …``) after a newline, which explains a
    bare ``assert`` but buries a message the author wrote for the interviewer."""
    if not text:
        return "assertion failed"
    head, sep, _ = text.partition("\nassert ")
    return head if sep and head.strip() else text


def run_check(defn: CheckDef, ctx: Context) -> Outcome:
    """Run one check and map whatever happens to an Outcome; never raises."""
    try:
        result = defn.fn(ctx)
    except AssertionError as exc:
        return Outcome("fail", _clip(_assertion_text(str(exc))))
    except CandidateError as exc:
        return Outcome("fail", _clip(exc.summary()))
    except WorkerError as exc:
        return Outcome(exc.status, _clip(exc.reason))
    except CodecError as exc:
        return Outcome("fail", _clip(f"result is not plain data: {exc}"))
    except Exception as exc:
        tb = traceback.format_exc(limit=-3)
        return Outcome("error", _clip(f"internal error in check {defn.id}: "
                                      f"{type(exc).__name__}: {exc}\n{tb}"))
    if result is None:
        return Outcome("pass")
    if not isinstance(result, Outcome):
        return Outcome("error", f"check {defn.id} returned {type(result).__name__}, not Outcome")
    result.message = _clip(result.message)
    return result


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 20] + " …[truncated]"
