"""The candidate bundle: everything a candidate gets, and no byte of anything hidden.

The leak scan here is written independently of proctor.library.bundle.audit (which the build
also runs): it derives its needles straight from graders/ and reference_solutions/.  Every
test that takes ``bundle_dir`` runs on the whole-library bundle and on each interview plan's.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import shutil
from pathlib import Path

import nbformat
import pytest
from test_local_check import TOY_SEED, make_toy_library

from proctor import cli
from proctor.library import bundle, plans
from proctor.library import notebooks as nbgen
from proctor.library.spec import Library

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)
HIDDEN = [REPO / "graders", REPO / "reference_solutions"]
NO_PLAN = "(no plan)"


@pytest.fixture(scope="module", params=[NO_PLAN, *plans.plan_names(LIB)])
def bundle_dir(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "bundle"
    plan = [] if request.param == NO_PLAN else ["--plan", request.param]
    assert cli.main(["--root", str(REPO), "bundle", str(out), *plan]) == 0
    return out


def bundled(root: Path) -> list:
    """The exercises a bundle holds, by its manifest (checked against the plan below)."""
    made = json.loads((root / "bundle.json").read_text())
    ids = made["exercises"]
    if made["plan"] is None:
        assert ids == LIB.ids()
    else:
        assert ids == plans.get_plan(LIB, made["plan"]["name"]).ids
    return [LIB.get(i) for i in ids]


def bundle_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink())


def public_text() -> str:
    return "\n".join(p.read_text(errors="replace") for p in sorted((REPO / "exercises").rglob("*"))
                     if p.is_file() and b"\0" not in p.read_bytes()[:4096])


def budget_names() -> set[str]:
    """Budget names are public by contract (the spec, `proctor list`); a latency check may be
    named like its budget, and that name is then not hidden-check text."""
    return {name for ex in LIB.all() for name in ex.spec.budgets}


def hidden_py() -> list[Path]:
    return sorted(p for h in HIDDEN for p in h.rglob("*.py") if "__pycache__" not in p.parts)


# -- what is in it ---------------------------------------------------------------------

def test_layout(bundle_dir):
    rels = {p.relative_to(bundle_dir).as_posix() for p in bundle_files(bundle_dir)}
    assert "README.md" in rels and "bundle.json" in rels
    exercises = bundled(bundle_dir)
    assert {r.split("/")[1] for r in rels if r.startswith("exercises/")} - {"_shared"} == \
        {ex.id for ex in exercises}
    assert {r for r in rels if r.startswith("notebooks/")} == \
        {f"notebooks/{ex.id}.ipynb" for ex in exercises}
    for ex in exercises:
        nb = f"notebooks/{ex.id}.ipynb"
        assert nb in rels
        assert (bundle_dir / nb).read_text() == nbgen.render(ex)
        assert (bundle_dir / "artifacts" / ex.id).is_dir()
        for p in ex.public_dir.rglob("*"):
            if p.is_file() and "__pycache__" not in p.parts and not p.name.startswith("."):
                rel = f"exercises/{ex.id}/{p.relative_to(ex.public_dir).as_posix()}"
                assert (bundle_dir / rel).read_bytes() == p.read_bytes(), rel
    allowed = re.compile(r"^(README\.md|bundle\.json|notebooks/[a-z0-9_]+\.ipynb"
                         r"|exercises/[^/]+/.+|artifacts/[^/]+/.+)$")
    assert all(allowed.match(r) for r in rels), sorted(r for r in rels if not allowed.match(r))
    assert not [r for r in rels if "__pycache__" in r or r.endswith(".pyc")]


def test_readme(bundle_dir):
    text = (bundle_dir / "README.md").read_text()
    plan = json.loads((bundle_dir / "bundle.json").read_text())["plan"]
    minutes = {e["id"]: e["minutes"] for e in plan["exercises"]} if plan else {}
    for ex in bundled(bundle_dir):
        assert ex.spec.title in text and f"`{ex.id}`" in text
        assert f"{minutes.get(ex.id, ex.spec.suggested_minutes)} min" in text
    for needle in ("## Rules", "is_grading()", "proctor check notebooks/",
                   "proctor submit --out submission.zip", "check(\"<exercise id>\")"):
        assert needle in text


def test_out_must_be_empty(tmp_path):
    (tmp_path / "x").write_text("keep me")
    with pytest.raises(FileExistsError):
        bundle.build(LIB, tmp_path)
    assert (tmp_path / "x").read_text() == "keep me"


def test_one_exercise_only(tmp_path):
    bundle.build(LIB, tmp_path / "b", ["box_ops"])
    assert sorted(p.name for p in (tmp_path / "b" / "notebooks").iterdir()) == ["box_ops.ipynb"]
    assert sorted(p.name for p in (tmp_path / "b" / "exercises").iterdir()
                  if p.name != "_shared") == ["box_ops"]


# -- nothing hidden, byte by byte ------------------------------------------------------

def test_no_hidden_file(bundle_dir):
    public = {hashlib.sha256(p.read_bytes()).hexdigest()
              for p in (REPO / "exercises").rglob("*") if p.is_file()}
    hidden = {hashlib.sha256(p.read_bytes()).hexdigest(): p
              for h in HIDDEN for p in h.rglob("*") if p.is_file() and p.stat().st_size}
    hidden = {d: p for d, p in hidden.items() if d not in public}
    assert hidden, "no hidden files found: the test would prove nothing"
    for p in bundle_files(bundle_dir):
        rel = p.relative_to(bundle_dir)
        assert not p.is_symlink(), rel
        assert not {"graders", "reference_solutions"} & set(rel.parts), rel
        assert hashlib.sha256(p.read_bytes()).hexdigest() not in hidden, (
            f"{rel} is a copy of {hidden[hashlib.sha256(p.read_bytes()).hexdigest()]}")


def test_no_hidden_seed(bundle_dir):
    seeds = [p.read_text().strip() for p in (REPO / "graders").glob("*/seed.txt")]
    assert seeds and all(seeds)
    for p in bundle_files(bundle_dir):
        data = p.read_bytes()
        for seed in seeds:
            assert not re.search(rb"(?<![0-9])" + seed.encode() + rb"(?![0-9])", data), (
                f"{p.relative_to(bundle_dir)} contains a hidden seed")


def _grader_needles() -> tuple[set[str], set[str]]:
    """Every top-level function name and every docstring line of graders/*/checks.py."""
    names, lines = set(), set()
    for path in sorted((REPO / "graders").glob("*/checks.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node in tree.body:
                names.add(node.name)
            if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef,
                                 ast.ClassDef)):
                doc = ast.get_docstring(node) or ""
                lines.update(s.strip() for s in doc.splitlines() if len(s.strip()) >= 12)
    return names - budget_names(), lines


def _texts(root: Path) -> list[tuple[str, str]]:
    out = []
    for p in bundle_files(root):
        text = p.read_bytes().decode("utf-8", "replace")
        out.append((p.relative_to(root).as_posix(), text))
        if p.suffix == ".ipynb":  # JSON escapes quotes: search the decoded sources as well
            nb = json.loads(text)
            out.append((p.relative_to(root).as_posix() + " (cells)",
                        "\n".join("".join(c["source"]) for c in nb["cells"])))
    return out


def test_no_hidden_check_names_or_docstrings(bundle_dir):
    names, lines = _grader_needles()
    assert names and lines
    pub = public_text()
    # a generic word the public prompt also uses ("spiral", "canonical") must not appear as
    # code (defined or called); any other hidden name must not appear at all
    generic = {n for n in names if re.search(rf"\b{re.escape(n)}\b", pub)}
    patterns = [re.compile(r"\b(" + "|".join(map(re.escape, sorted(group))) + r")" + tail)
                for group, tail in ((generic, r"\s*\("), (names - generic, r"\b")) if group]
    for rel, text in _texts(bundle_dir):
        for pattern in patterns:
            m = pattern.search(text)
            assert m is None, (rel, m.group(1))
        for line in lines:
            assert line not in text, (rel, line)


def test_no_distinctive_reference_lines(bundle_dir):
    pub = public_text()
    distinctive = set()
    for path in hidden_py():
        for line in path.read_text().splitlines():
            s = line.strip()
            if len(s) >= 24 and s not in pub and not s.startswith("#"):
                distinctive.add(s)
    assert len(distinctive) > 20, "too few distinctive lines: the test would prove little"
    for rel, text in _texts(bundle_dir):
        for s in distinctive:
            assert s not in text, (rel, s)


# -- the build's own audit -------------------------------------------------------------

def test_audit_is_clean(bundle_dir):
    assert bundle.audit(bundle_dir, LIB) == []


def test_audit_catches_planted_leaks(tmp_path):
    whole = tmp_path / "whole"
    bundle.build(LIB, whole, check_leaks=False)
    planted = tmp_path / "planted"
    shutil.copytree(whole, planted)
    seed = (REPO / "graders" / "box_ops" / "seed.txt").read_text().strip()
    (planted / "exercises" / "box_ops" / "data.bin").write_bytes(b"\0\1seed=" + seed.encode())
    ref = REPO / "reference_solutions" / "box_ops" / "accepted" / "reference.py"
    shutil.copy(ref, planted / "artifacts" / "box_ops" / "notes.py")
    nb_path = planted / "notebooks" / "connected_components.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    names, lines = _grader_needles()
    hidden_doc = sorted(lines)[0]
    nb.cells[1].source += f'\n"""{hidden_doc}"""\n'
    nbformat.write(nb, nb_path)
    found = "\n".join(bundle.audit(planted, LIB))
    assert "exercises/box_ops/data.bin: contains the hidden seed" in found
    assert "artifacts/box_ops/notes.py: is a copy of reference_solutions/box_ops/" in found
    assert "notebooks/connected_components.ipynb: contains a line of graders/" in found


def test_build_refuses_to_leak(tmp_path):
    lib = make_toy_library(tmp_path / "lib")
    prompt = lib.root / "exercises" / "toy_code" / "prompt.md"
    prompt.write_text(prompt.read_text() + "\nHint: `toy_secret_code_check` wants a seed of "
                      f"{TOY_SEED}.\n")
    out = tmp_path / "bundle"
    with pytest.raises(bundle.LeakError) as err:
        bundle.build(lib, out)
    assert "toy_secret_code_check" in str(err.value) and "seed" in str(err.value)
    assert not out.exists()
    out.mkdir()  # an empty folder given by the user stays, empty
    with pytest.raises(bundle.LeakError):
        bundle.build(lib, out)
    assert out.is_dir() and not any(out.iterdir())


def test_a_broken_exercise_elsewhere_does_not_stop_a_partial_bundle(tmp_path):
    lib = make_toy_library(tmp_path / "lib")
    broken = lib.root / "exercises" / "half_written"
    broken.mkdir()
    (broken / "exercise.toml").write_text('id = "half_written"\n')
    out = tmp_path / "bundle"
    bundle.build(lib, out, ["toy_code"])
    assert (out / "notebooks" / "toy_code.ipynb").is_file()
    with pytest.raises(Exception, match="half_written"):
        bundle.build(lib, tmp_path / "all")
    assert not (tmp_path / "all").exists()


def test_symlink_out_of_the_public_tree_is_refused(tmp_path):
    lib = make_toy_library(tmp_path / "lib")
    (lib.root / "exercises" / "toy_code" / "data").mkdir()
    (lib.root / "exercises" / "toy_code" / "data" / "seed.txt").symlink_to(
        lib.root / "graders" / "toy_code" / "seed.txt")
    with pytest.raises(bundle.LeakError, match="symlink"):
        bundle.build(lib, tmp_path / "bundle")


def test_toy_bundle_scan(tmp_path):
    """The scan above, on a library whose hidden parts we wrote ourselves."""
    lib = make_toy_library(tmp_path / "lib")
    out = tmp_path / "bundle"
    bundle.build(lib, out)
    blob = b"".join(p.read_bytes() for p in bundle_files(out))
    for needle in (TOY_SEED, "toy_secret", "must never reach a candidate",
                   "the distinctive reference line", "the secret part"):
        assert needle.encode() not in blob
    assert b"answer_is_42" in blob  # public checks are in, of course
