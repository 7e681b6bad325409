"""``proctor new``: scaffold an exercise in all three trees at once.

An exercise is a folder in each of ``exercises/``, ``graders/`` and
``reference_solutions/`` (never an engine change); writing the three by hand is
where authors forget the hidden seed or a rejected solution. The scaffold is a
small *working* exercise (prefix maxima) that generates its notebook and passes
``proctor calibrate`` as written, so an author starts from green and edits one
piece at a time, re-running calibration as they go.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

from proctor.library import notebooks as nbgen
from proctor.library.spec import TRACKS, Library, SpecError, load_spec
from proctor.templating import templates

ID_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,47}")

# template -> path under the library root ({id} is the exercise id)
FILES = {
    "exercise.toml.j2": "exercises/{id}/exercise.toml",
    "prompt.md.j2": "exercises/{id}/prompt.md",
    "starter.py.j2": "exercises/{id}/starter.py",
    "checks.py.j2": "exercises/{id}/checks.py",
    "grader_checks.py.j2": "graders/{id}/checks.py",
    "reference.py.j2": "reference_solutions/{id}/accepted/reference.py",
    "rejected_python_loop.py.j2": "reference_solutions/{id}/rejected/python_loop/solution.py",
    "rejected_starts_at_zero.py.j2":
        "reference_solutions/{id}/rejected/starts_at_zero/solution.py",
    "contract.toml.j2": "reference_solutions/{id}/contract.toml",
}
EXPECT = {
    "python_loop": ('fail = ["running_max_latency"]\n'
                    'why = "correct on every input, but an interpreted loop: far too slow"\n'),
    "starts_at_zero": ('fail = ["random_values", "edge_cases", "running_max_latency"]\n'
                       'why = "starts from 0, not the first value: wrong for negative inputs '
                       '(and a wrong answer during timing fails the latency check too)"\n'),
}

_env = templates("proctor.library", "templates/new_exercise", html=False)


def create(library: Library, exercise_id: str, title: str | None = None,
           track: str = "algorithms") -> list[Path]:
    """Write the scaffold for ``exercise_id`` and its notebook; refuse to touch an
    exercise that exists in any of the three trees (nothing is written then)."""
    if not ID_PATTERN.fullmatch(exercise_id):
        raise SpecError(f"exercise id {exercise_id!r}: use 2-48 characters of a-z, 0-9 and _, "
                        "starting with a letter (it names folders and a Python-visible id)")
    if track not in TRACKS:
        raise SpecError(f"track {track!r}: must be one of {', '.join(TRACKS)}")
    root = library.root
    taken = [root / d / exercise_id for d in ("exercises", "graders", "reference_solutions")
             if (root / d / exercise_id).exists()]
    if taken:
        raise SpecError(f"{taken[0]} already exists: pick another id or remove it first")
    title = title or exercise_id.replace("_", " ").capitalize()
    if '"' in title or "\\" in title or "\n" in title:
        raise SpecError(f"title {title!r}: no quotes, backslashes or newlines")
    values = {"id": exercise_id, "title": title, "track": track}
    outputs: dict[Path, str] = {
        root / dest.format(id=exercise_id): _env.get_template(tpl).render(**values)
        for tpl, dest in FILES.items()
    }
    for name, text in EXPECT.items():
        outputs[root / f"reference_solutions/{exercise_id}/rejected/{name}/expect.toml"] = text
    # a fresh hidden seed per exercise: never shipped, never shared with another exercise
    outputs[root / f"graders/{exercise_id}/seed.txt"] = f"{secrets.randbelow(2**31 - 1) + 1}\n"
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    load_spec(root / "exercises" / exercise_id / "exercise.toml")  # the scaffold is valid
    notebook = root / "notebooks" / f"{exercise_id}.ipynb"
    notebook.parent.mkdir(parents=True, exist_ok=True)
    notebook.write_text(nbgen.render(library.get(exercise_id)))
    return sorted(outputs) + [notebook]
