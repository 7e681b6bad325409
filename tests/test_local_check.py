"""check() in the candidate's kernel (proctor.candidate.local): public checks only, the same
plain-data round trip as grading, a compact table, never a traceback wall."""

from __future__ import annotations

import dataclasses
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from proctor.candidate import local as local_check
from proctor.candidate.stubs import notes_for, stubs_in_source
from proctor.candidate.table import format_table
from proctor.library import bundle
from proctor.library.spec import Library
from proctor.report import CheckResult

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)
CODE = [ex for ex in LIB.all() if ex.spec.kind == "code"]
# code exercises whose starter is stubs (train_debug's is complete code to debug)
STUBBED = [ex for ex in CODE if "NotImplementedError" in ex.starter]

TOY_SEED = "8675309"


def make_toy_library(root: Path) -> Library:
    """A two-exercise library (one artifact, one code) with hidden parts, for tests that
    must not depend on which exercises the real library has."""
    art = root / "exercises" / "toy_art"
    art.mkdir(parents=True)
    (art / "exercise.toml").write_text(textwrap.dedent("""\
        id = "toy_art"
        title = "Toy artifact"
        track = "edge"
        kind = "artifact"
        points = 3
        suggested_minutes = 5
        artifacts = ["answer.txt"]
        runner = "runner.py"
        reference_artifact = "reference/answer.txt"

        [budgets.answer_size]
        kind = "size"
        max = 8
        unit = "bytes"
        """))
    (art / "prompt.md").write_text("# Toy artifact\n\nSave the answer to `answer.txt`.\n")
    (art / "starter.py").write_text(
        "from proctor.candidate import artifact_dir\n\n"
        "# (artifact_dir('toy_art') / 'answer.txt').write_text('...')\n")
    (art / "runner.py").write_text(textwrap.dedent("""\
        from proctor.candidate import artifact_dir


        def answer():
            return int((artifact_dir("toy_art") / "answer.txt").read_text())


        def size():
            return (artifact_dir("toy_art") / "answer.txt").stat().st_size
        """))
    (art / "checks.py").write_text(textwrap.dedent("""\
        from proctor.checks import Outcome, check


        @check(points=1)
        def answer_is_42(ctx):
            \"\"\"The saved answer is 42.\"\"\"
            got = ctx.candidate.answer()
            assert got == 42, f"expected 42, got {got}"


        @check(points=1, kind="size", budget="answer_size")
        def answer_small(ctx):
            \"\"\"The saved file is small.\"\"\"
            n = ctx.candidate.size()
            b = ctx.budget("answer_size")
            return Outcome("pass" if n <= b.max else "fail", "", {"bytes": n}, b.as_dict())
        """))
    (art / "reference").mkdir()
    (art / "reference" / "answer.txt").write_text("42\n")
    code = root / "exercises" / "toy_code"
    code.mkdir(parents=True)
    (code / "exercise.toml").write_text(textwrap.dedent("""\
        id = "toy_code"
        title = "Toy code"
        track = "algorithms"
        kind = "code"
        points = 2
        suggested_minutes = 5

        [interface]
        double = "double(x: ndarray) -> ndarray"
        """))
    (code / "prompt.md").write_text("# Toy code\n\nReturn twice the input.\n")
    (code / "starter.py").write_text(textwrap.dedent("""\
        import numpy as np


        def double(x: np.ndarray) -> np.ndarray:
            \"\"\"Twice x.\"\"\"
            raise NotImplementedError
        """))
    (code / "checks.py").write_text(textwrap.dedent("""\
        import numpy as np

        from proctor.checks import check
        from proctor.checks.asserts import assert_equal


        @check(points=1)
        def double_small(ctx):
            \"\"\"double on a small array.\"\"\"
            assert_equal(ctx.candidate.double(np.arange(3)), np.arange(3) * 2, "double")
        """))
    for ex_id, check_name in (("toy_art", "toy_secret_artifact_check"),
                              ("toy_code", "toy_secret_code_check")):
        g = root / "graders" / ex_id
        g.mkdir(parents=True)
        (g / "checks.py").write_text(textwrap.dedent(f"""\
            \"\"\"Hidden checks for {ex_id}: the secret part.\"\"\"
            from proctor.checks import check


            @check(points=1)
            def {check_name}(ctx):
                \"\"\"A hidden docstring line that must never reach a candidate.\"\"\"
                raise AssertionError("hidden check ran on the candidate side")
            """))
        (g / "seed.txt").write_text(TOY_SEED + "\n")
    acc = root / "reference_solutions" / "toy_code" / "accepted"
    acc.mkdir(parents=True)
    (acc / "reference.py").write_text(
        "import numpy as np\n\n\ndef double(x):\n"
        "    return np.asarray(x) * 2  # the distinctive reference line\n")
    acc = root / "reference_solutions" / "toy_art" / "accepted"
    acc.mkdir(parents=True)
    (acc / "build.py").write_text(
        "import sys, pathlib\npathlib.Path(sys.argv[1], 'answer.txt').write_text('42')\n")
    return Library(root)


@pytest.fixture
def toy(tmp_path: Path) -> tuple[Library, Path]:
    lib = make_toy_library(tmp_path / "lib")
    out = tmp_path / "bundle"
    bundle.build(lib, out)
    return lib, out


def _ns(*cells: str) -> dict:
    """A namespace made the way a notebook makes one: cells run in order."""
    ns: dict = {"__name__": "__main__"}
    for i, source in enumerate(cells):
        exec(compile(source, f"<cell {i}>", "exec"), ns)
    return ns


# -- the real library ------------------------------------------------------------------

@pytest.mark.parametrize("ex", STUBBED, ids=[e.id for e in STUBBED])
def test_starter_reports_not_implemented(ex, tmp_path):
    out = tmp_path / "bundle"
    bundle.build(LIB, out, [ex.id])
    ns = _ns(ex.starter)
    results = local_check.run_public(ex.id, ns, out)
    assert results, f"{ex.id} has no public checks"
    for r in results:
        assert r.status == "fail", r
        assert "not implemented yet" in r.message, r.message
        assert "Traceback" not in r.message
    table = format_table(ex.id, results, notes_for(ex, ns))
    assert "not implemented yet: " in table
    assert f"0/{len(results)} public checks pass" in table


def reference_code(ex, bundle_dir: Path) -> str:
    """The accepted reference's code; a reference folder's saved files (weights) are copied
    to the bundle's artifacts/<id>/, where a candidate's notebook keeps them."""
    single = ex.solutions_dir / "accepted" / "reference.py"
    if single.is_file():
        return single.read_text()
    folder = ex.solutions_dir / "accepted" / "reference"
    saved = folder / "artifacts" / ex.id
    if saved.is_dir():
        shutil.copytree(saved, bundle_dir / "artifacts" / ex.id, dirs_exist_ok=True)
    return (folder / "solution.py").read_text()


@pytest.mark.parametrize("ex", CODE, ids=[e.id for e in CODE])
def test_reference_passes_every_public_check(ex, tmp_path, monkeypatch):
    out = tmp_path / "bundle"
    bundle.build(LIB, out, [ex.id])
    monkeypatch.setenv("PROCTOR_BUNDLE", str(out))  # artifact_dir(...) -> out/artifacts/<id>
    ref = reference_code(ex, out)
    results = local_check.run_public(ex.id, _ns(ex.starter, ref), out)
    assert [r.status for r in results] == ["pass"] * len(results), results
    assert all(not r.hidden for r in results)


def test_check_namespace_prints_a_compact_table(tmp_path, capsys):
    out = tmp_path / "bundle"
    bundle.build(LIB, out, ["box_ops"])
    ex = LIB.get("box_ops")
    ns = _ns(ex.starter, "import numpy as np\n\n"
             "def nms(boxes, scores, t):\n    return np.array([0, 2], dtype=np.int64)\n")
    local_check.check_namespace("box_ops", ns, out)
    text = capsys.readouterr().out
    lines = text.strip().splitlines()
    assert lines[0].startswith("public checks for box_ops (hidden checks run only when graded)")
    assert any(line.startswith("nms_basic") and "PASS" in line for line in lines)
    assert any(line.startswith("iou_basic") and "not implemented yet" in line for line in lines)
    assert "Traceback" not in text and 'File "' not in text
    assert max(len(line) for line in lines) < 200


def test_round_trip_is_plain_data(tmp_path):
    """What crosses is converted like in grading: a lying __eq__ or an object array cannot
    pass; a list of ints converts to an array and passes."""
    out = tmp_path / "bundle"
    bundle.build(LIB, out, ["box_ops"])
    ex = LIB.get("box_ops")

    class Liar:
        def __eq__(self, other):
            return True

        __hash__ = object.__hash__

    def run(nms) -> str:
        ns = _ns(ex.starter)
        ns["nms"] = nms
        by_id = {r.id: r for r in local_check.run_public("box_ops", ns, out)}
        return by_id["nms_basic"].status

    assert run(lambda b, s, t: Liar()) == "fail"
    assert run(lambda b, s, t: np.array([0, 2], dtype=object)) == "fail"
    assert run(lambda b, s, t: np.array([0, 2], dtype=np.int64)) == "pass"


# -- stubs, formatting -----------------------------------------------------------------

def test_stub_detection():
    src = textwrap.dedent('''
        def a(x):
            """doc"""
            raise NotImplementedError

        def b(x):
            raise NotImplementedError("todo")

        def c(x):
            return x

        def d(x):
            if x:
                raise NotImplementedError
            return 1

        class E:
            def update(self, x):
                raise NotImplementedError
    ''')
    assert stubs_in_source([src], ["a", "b", "c", "d", "E", "zz"]) == ["a", "b", "E"]
    # the last definition wins, as in a notebook re-run top to bottom
    assert stubs_in_source([src, "def a(x):\n    return 1\n"], ["a"]) == []
    assert stubs_in_source(["def a(:\n"], ["a"]) == []


def test_table_shows_measured_vs_budget_and_never_cuts_a_message():
    long = "first line " + "x" * 500 + "\nsecond line\nthird"
    rs = [CheckResult("size_ok", "size", "pass", 1, 1, False, "",
                      {"bytes": 1234, "ratio": 0.123456}, {"max": 2000, "unit": "bytes"}),
          CheckResult("long", "correctness", "fail", 0, 2, False, long)]
    table = format_table("ex", rs)
    assert "measured bytes=1234, ratio=0.123 vs budget max 2000 bytes" in table
    assert "first line " + "x" * 500 in table and "…" not in table
    assert "long (fail), in full:\n    first line" in table and "    third" in table
    assert table.index("1/2 public checks pass") < table.index("in full:")
    assert "(this exercise has no public checks)" in format_table("ex", [])


def test_the_table_ends_with_the_next_step():
    ok = [CheckResult("a", "correctness", "pass", 1, 1, False)]
    bad = [CheckResult("a", "correctness", "fail", 0, 1, False, "nope")]
    table = format_table("ex", ok)
    done = " ".join(table[table.index("\nnext: ") + 1:].split())
    assert done.startswith("next: save the notebook") and "proctor submit" in done
    assert "hidden checks also judge" in done and "budgets" in done
    assert "\nnext: fix what failed" in format_table("ex", bad)
    assert "export cell" in format_table("ex", ok, kind="artifact")


def test_check_names_the_line_of_the_cell_that_raised(toy):
    """An exception in the candidate's code reads with the cell and line it came from."""
    lib, out = toy
    ns: dict = {}
    cell = "def double(x):\n    total = x\n    return total + x['missing']\n"
    exec(compile(cell, "/tmp/ipykernel_42/123456.py", "exec"), ns)
    import linecache

    linecache.cache["/tmp/ipykernel_42/123456.py"] = (len(cell), None,
                                                      cell.splitlines(True),
                                                      "/tmp/ipykernel_42/123456.py")
    results = local_check.run_public("toy_code", ns, out)
    raised = [r for r in results if "raised at" in r.message]
    assert raised, [r.message for r in results]
    assert "line 3 (in double): return total + x['missing']" in raised[0].message
    assert local_check.candidate_line(
        'Traceback (most recent call last):\n  File "/x/site-packages/numpy/core.py", line 9, '
        'in f\n    g()\n  File "<cell 3>", line 7, in nms\n  File "/usr/lib/python3.11/'
        'x.py", line 1, in h\n') == "code cell 3, line 7 (in nms)"


# -- artifact exercises, hidden material -----------------------------------------------

def test_artifact_missing_then_saved(toy):
    lib, out = toy
    results = local_check.run_public("toy_art", {}, out)
    assert [r.status for r in results] == ["fail", "fail"]
    assert all("not saved yet: artifacts/toy_art/answer.txt" in r.message for r in results)

    (out / "artifacts" / "toy_art" / "answer.txt").write_text("42")
    results = {r.id: r for r in local_check.run_public("toy_art", {}, out)}
    assert results["answer_is_42"].status == "pass"
    assert results["answer_small"].status == "pass"
    assert results["answer_small"].measured == {"bytes": 2}
    table = format_table("toy_art", list(results.values()))
    assert "measured bytes=2 vs budget max 8 bytes" in table

    (out / "artifacts" / "toy_art" / "answer.txt").write_text("forty-two, too long")
    results = {r.id: r for r in local_check.run_public("toy_art", {}, out)}
    assert results["answer_is_42"].status == "fail"
    assert "ValueError" in results["answer_is_42"].message
    assert results["answer_small"].status == "fail"


def test_broken_runner_is_one_line(toy):
    lib, out = toy
    (out / "artifacts" / "toy_art" / "answer.txt").write_text("42")
    (out / "exercises" / "toy_art" / "runner.py").write_text("raise OSError('corrupt file')\n")
    results = local_check.run_public("toy_art", {}, out)
    assert {r.status for r in results} == {"error"}
    assert results[0].message == "loading your artifact failed: OSError: corrupt file"


def test_hidden_checks_never_run_or_show(toy, capsys):
    lib, out = toy
    assert not (out / "graders").exists()
    # even with the hidden checks right there in the library, only public ones run
    ns = _ns("import numpy as np\ndef double(x):\n    return np.asarray(x) * 2\n")
    results = local_check.check_namespace("toy_code", ns, lib.root)
    text = capsys.readouterr().out
    assert [r.id for r in results] == ["double_small"]
    assert results[0].status == "pass"
    assert "toy_secret" not in text and "hidden check ran" not in text
    assert TOY_SEED not in text


def test_undefined_names_are_a_note(toy):
    lib, out = toy
    notes = notes_for(lib.get("toy_code"), {})
    assert notes == ["not defined yet: double (run the cells above first)"]
    results = local_check.run_public("toy_code", {}, out)
    assert results[0].status == "fail" and "NameError" in results[0].message


def test_a_forbidden_import_in_the_kernel_is_a_note(toy):
    lib, _ = toy
    ex = lib.get("toy_code")
    spec = ex.spec.model_copy(update={"forbidden_imports": ["json", "not_a_module_here"]})
    notes = notes_for(dataclasses.replace(ex, spec=spec), {"double": abs})
    assert notes == ["not allowed in this exercise: json (imported in this kernel; grading "
                     "refuses the import)"]


def test_bundle_copy_is_what_check_reads(toy):
    """check() reads the bundle's own public checks, not the library's."""
    lib, out = toy
    shutil.rmtree(lib.root / "exercises" / "toy_code")
    ns = _ns("def double(x):\n    return x * 2\n")
    assert [r.status for r in local_check.run_public("toy_code", ns, out)] == ["pass"]
