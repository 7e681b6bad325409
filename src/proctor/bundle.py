"""The candidate bundle: notebooks, public exercise files, a README — nothing hidden.

Built only from the public tree (exercises/ and generated notebooks); graders/ and
reference_solutions/ are never read here, which is the leak barrier.  A test scans
every byte of the result for hidden material anyway.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from proctor import nbgen
from proctor.spec import Library

_env = Environment(loader=PackageLoader("proctor", "templates"),
                   autoescape=select_autoescape(default=False))
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


def build(library: Library, out: Path, ids: list[str] | None = None) -> list[Path]:
    """Write the bundle to ``out`` (which must not exist or be empty)."""
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out}: exists and is not empty")
    exercises = [library.get(i) for i in (ids or library.ids())]
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    (out / "artifacts").mkdir(exist_ok=True)
    for ex in exercises:
        (out / "notebooks" / f"{ex.id}.ipynb").write_text(nbgen.render(ex))
        shutil.copytree(ex.public_dir, out / "exercises" / ex.id, ignore=_SKIP)
        (out / "artifacts" / ex.id).mkdir(exist_ok=True)
    shared = library.root / "exercises" / "_shared"
    if shared.is_dir():
        shutil.copytree(shared, out / "exercises" / "_shared", ignore=_SKIP)
    readme = _env.get_template("candidate_README.md.j2").render(exercises=exercises)
    (out / "README.md").write_text(readme)
    return sorted(p for p in out.rglob("*") if p.is_file())
