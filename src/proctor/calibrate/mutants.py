"""Rejected solutions written as mutants of another solution: the file they change
and exact text replacements, declared in ``expect.toml``.

Most rejected solutions are "the reference with one bug". Committing each as a full
copy repeats the reference many times over and hides the bug among unchanged lines;
a mutant states the bug itself, and when the reference changes under it, the
replacement no longer matches and calibration says so, instead of silently grading
a stale copy.

    fail = ["softmax_stability"]
    why = "softmax without subtracting the row maximum overflows on large logits"
    mutates = "accepted/reference.py"
    [[replace]]
    old = "scores - scores.max(axis=-1, keepdims=True)"
    new = "scores"
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proctor.library.spec import SpecError


@dataclass(frozen=True)
class Mutation:
    expect: Path  # the expect.toml that declares it (named in every error)
    target: str  # a code file of this exercise's solutions, e.g. "accepted/reference.py"
    replacements: tuple[tuple[str, str], ...]


def parse(expect: Path, meta: dict, unchanged_ok: bool = False) -> Mutation | None:
    """The mutation an ``expect.toml`` declares, or None if it declares none.

    ``unchanged_ok``: the solution has a ``build.py`` of its own, so ``mutates`` without
    ``[[replace]]`` (the same code with other saved files) is meaningful."""
    target, replace = meta.get("mutates"), meta.get("replace")
    if target is None and replace is None:
        return None
    if not isinstance(target, str) or not target.endswith(".py"):
        raise SpecError(f"{expect}: mutates = \"accepted/reference.py\" (a .py solution of this "
                        "exercise) must come with [[replace]]")
    if replace is None and unchanged_ok:
        return Mutation(expect, target, ())
    if not isinstance(replace, list) or not replace:
        raise SpecError(f"{expect}: mutates needs at least one [[replace]] with old and new "
                        "(or a build.py beside it, for the same code with other saved files)")
    pairs = []
    for i, r in enumerate(replace, 1):
        if not (isinstance(r, dict) and set(r) == {"old", "new"}
                and all(isinstance(r[k], str) for k in ("old", "new")) and r["old"]):
            raise SpecError(f"{expect}: [[replace]] #{i} needs exactly a non-empty old and a new "
                            "(strings)")
        pairs.append((r["old"], r["new"]))
    return Mutation(expect, target, tuple(pairs))


def apply(mutation: Mutation, solutions_dir: Path) -> str:
    """The mutant's source: each ``old`` must occur exactly once in the target (after the
    replacements before it), so a reference edit never leaves a mutant silently stale."""
    path = (solutions_dir / mutation.target).resolve()
    if not path.is_relative_to(solutions_dir.resolve()) or not path.is_file():
        raise SpecError(f"{mutation.expect}: mutates = {mutation.target!r} is not a file under "
                        f"{solutions_dir}")
    text = path.read_text(encoding="utf-8")
    for i, (old, new) in enumerate(mutation.replacements, 1):
        count = text.count(old)
        if count != 1:
            raise SpecError(f"{mutation.expect}: [[replace]] #{i} old text occurs {count} times "
                            f"in {mutation.target} (must be exactly once): {old[:80]!r}")
        text = text.replace(old, new)
    return text
