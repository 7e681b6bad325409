"""Starter notebooks, generated from exercises/<id>/ so that they never drift.

Output is deterministic (fixed cell ids, no outputs) so that a committed notebook
can be compared byte for byte with a fresh rendering; a test fails when stale.
"""

from __future__ import annotations

from pathlib import Path

from proctor.library.spec import ExerciseDir, Library
from proctor.nbio import nbformat

new_code_cell = nbformat.v4.new_code_cell
new_markdown_cell = nbformat.v4.new_markdown_cell
new_notebook = nbformat.v4.new_notebook

#: What ipykernel reports, so that JupyterLab does not rewrite the metadata when the
#: kernel starts (and show the notebook as modified before the candidate typed a key).
#: The Python version is machine-specific: ``stamp_kernel`` adds it where the kernel runs.
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
LANGUAGE_INFO = {"codemirror_mode": {"name": "ipython", "version": 3}, "file_extension": ".py",
                 "mimetype": "text/x-python", "name": "python", "nbconvert_exporter": "python",
                 "pygments_lexer": "ipython3"}


def stamp_kernel(paths: list[Path], version: str | None = None) -> None:
    """Write this Python's version into the notebooks' language_info (the candidate
    image does, at build time): with it, the metadata is exactly what the kernel
    reports and JupyterLab opens the notebooks unmodified."""
    import json
    import platform

    for path in map(Path, paths):
        nb = json.loads(path.read_text())
        nb.setdefault("metadata", {}).setdefault("language_info", dict(LANGUAGE_INFO))
        nb["metadata"]["language_info"]["version"] = version or platform.python_version()
        path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def render(ex: ExerciseDir) -> str:
    spec = ex.spec
    header = (
        f"**Track:** {spec.track} · **Points:** {spec.points:g} · "
        f"**Suggested time:** {spec.suggested_minutes} min · "
        f"**Grading time limit for this notebook:** {spec.limits.time_limit_s:g} s\n\n"
        "Run `check()` at the bottom at any time: it runs the *public* checks. "
        "Hidden checks (more cases, larger inputs, budgets) run when your submission is graded."
    )
    setup = "from proctor.candidate import artifact_dir, check, is_grading\n"
    if spec.kind == "artifact":
        header += (f"\n\nThis is an **artifact** exercise: save your deliverable to "
                   f"`artifact_dir(\"{spec.id}\")` ({', '.join(spec.artifacts)}). "
                   "The file is graded, not the code.")
    cells = [
        new_markdown_cell(ex.prompt.rstrip() + "\n\n---\n" + header),
        new_code_cell(setup.rstrip()),
        new_code_cell(ex.starter.rstrip()),
        new_code_cell(f'check("{spec.id}")'),
    ]
    for i, cell in enumerate(cells):
        cell["id"] = f"{spec.id}-{i}"
    nb = new_notebook(cells=cells, metadata={
        "kernelspec": dict(KERNELSPEC), "language_info": dict(LANGUAGE_INFO),
        "proctor": {"exercise": spec.id},
    })
    return nbformat.writes(nb) + "\n"


def stale(library: Library) -> list[str]:
    """Exercise ids whose committed notebook differs from a fresh rendering."""
    out = []
    for ex in library.all():
        path = library.root / "notebooks" / f"{ex.id}.ipynb"
        if not path.is_file() or path.read_text() != render(ex):
            out.append(ex.id)
    return out


def write_all(library: Library, out_dir: Path | None = None) -> list[Path]:
    out_dir = out_dir or library.root / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for ex in library.all():
        path = out_dir / f"{ex.id}.ipynb"
        path.write_text(render(ex))
        written.append(path)
    return written
