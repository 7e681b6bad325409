"""Interview plans: the shipped plans, their validation, their bundles, and grading as a plan
(weights, warnings for a submission from another plan or bundle, exercises outside the plan)."""

from __future__ import annotations

import json
import textwrap
import zipfile
from pathlib import Path

import pytest
from test_local_check import make_toy_library

from proctor import cli
from proctor.grading.plan import claims, plan_section
from proctor.grading.submission import grade_submission
from proctor.library import bundle, plans
from proctor.library.spec import Library, SpecError
from proctor.report.model import ExerciseResult, Report
from proctor.submission import intake, submit

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)
SHIPPED = plans.plan_names(LIB)


def write_plan(lib: Library, name: str, text: str) -> Path:
    path = lib.root / "interviews" / f"{name}.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


TOY_PLAN = """\
    title = "Toy stage"
    stage = "screen"
    minutes = 30
    instructions = "Do the toy."

    [[exercises]]
    id = "toy_code"
    points = 10
    """


@pytest.fixture
def toy(tmp_path) -> Library:
    lib = make_toy_library(tmp_path / "lib")
    write_plan(lib, "toy", TOY_PLAN)
    write_plan(lib, "other", TOY_PLAN.replace("toy_code", "toy_art"))
    return lib


# -- the shipped plans -----------------------------------------------------------------

def test_the_role_has_a_plan_per_stage():
    assert {"screen", "onsite", "modelling", "edge", "full"} <= set(SHIPPED)
    by_name = {p.name: p for p in plans.all_plans(LIB)}
    assert by_name["screen"].spec.minutes == 60 and by_name["screen"].spec.stage == "screen"
    assert {by_name[n].spec.stage for n in ("onsite", "modelling", "edge", "full")} == {
        "onsite", "modelling", "deep-dive", "take-home"}
    assert by_name["full"].ids == LIB.ids()  # everything, new exercises included
    tracks = {n: {i.exercise.spec.track for i in by_name[n].items} for n in by_name}
    assert tracks["edge"] == {"edge"} and "edge" not in tracks["screen"] | tracks["onsite"]
    assert tracks["screen"] == {"ml"}  # ML fundamentals in code
    # the screen uses two of the newer exercises (issue 15), each re-timed to fit the hour
    assert by_name["screen"].ids == ["conv2d", "detection_ap"]
    assert [i.minutes for i in by_name["screen"].items] == [25, 35]
    for p in by_name.values():  # the time box holds the suggested times
        assert sum(i.minutes for i in p.items) <= p.spec.minutes, p.name
        assert p.spec.instructions.strip() and p.spec.title


def test_list_plans(capsys):
    assert cli.main(["--root", str(REPO), "list", "--plans"]) == 0
    out = capsys.readouterr().out
    for p in plans.all_plans(LIB):
        assert p.name in out and p.spec.title in out and f"{p.spec.minutes} min" in out
    assert "onnx_export (10 pts)" in out  # a re-weighted exercise says so
    assert cli.main(["--root", str(REPO), "list", "--plans", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    screen = next(r for r in rows if r["name"] == "screen")
    assert [e["id"] for e in screen["exercises"]] == ["conv2d", "detection_ap"]
    assert [e["points"] for e in screen["exercises"]] == [20, 20]  # detection_ap's 30 -> 20
    assert screen["minutes"] == 60 and screen["points"] == 40


# -- validation ------------------------------------------------------------------------

@pytest.mark.parametrize("text,field,words", [
    (TOY_PLAN.replace('"toy_code"', '"toy_cod"'), "exercises.0.id",
     "unknown exercise 'toy_cod' (known: toy_art, toy_code)"),
    (TOY_PLAN.replace('title = "Toy stage"\n', ""), "title", "Field required"),
    (TOY_PLAN.replace('"screen"', '"scren"'), "stage", "'screen'"),
    ("colour = 1\n" + TOY_PLAN, "colour", "Extra inputs are not permitted"),
    (TOY_PLAN.replace("minutes = 30", "minutes = 0"), "minutes", "greater than 0"),
    (TOY_PLAN.replace("minutes = 30", "minutes = 4"), "minutes",
     "less than the exercises' suggested minutes (5)"),
    (TOY_PLAN.replace("points = 10", "points = -1"), "exercises.0.points", "greater than 0"),
    ("all_exercises = true\n" + TOY_PLAN, "<root>", "exactly one of"),
    (TOY_PLAN + '[[exercises]]\nid = "toy_code"\n', "<root>", "listed twice: toy_code"),
    (TOY_PLAN + "[material]\npublic_checks = 1.5\n", "material.public_checks",
     "valid boolean"),
])
def test_a_bad_plan_names_file_and_field(toy, text, field, words):
    path = write_plan(toy, "bad", text)
    with pytest.raises(SpecError) as err:
        plans.get_plan(toy, "bad")
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and f"field '{field}'" in msg and words in msg, msg


def test_shared_material_an_exercise_needs_cannot_be_left_out(tmp_path):
    text = (REPO / "interviews" / "edge.toml").read_text().replace("shared = true",
                                                                   "shared = false")
    path = tmp_path / "edge.toml"
    path.write_text(text)
    with pytest.raises(SpecError, match=r"field 'material.shared'.*onnx_export"):
        plans.load_plan(path, LIB)


def test_unreadable_plans_and_unknown_names(toy, capsys):
    (toy.root / "interviews" / "broken.toml").write_text("title = \n")
    with pytest.raises(SpecError, match=r"broken\.toml: "):
        plans.get_plan(toy, "broken")
    with pytest.raises(SpecError, match=r"unknown plan 'nope' .*: broken, other, toy"):
        plans.get_plan(toy, "nope")
    bad = toy.root / "interviews" / "Bad Name.toml"
    bad.write_text(TOY_PLAN)
    with pytest.raises(SpecError, match="file name"):
        plans.load_plan(bad, toy)
    for argv in (["bundle", str(toy.root / "b"), "--plan", "nope"],
                 ["grade", str(toy.root), "--out", str(toy.root / "r"), "--plan", "nope",
                  "--unsafe-no-sandbox"]):
        assert cli.main(["--root", str(toy.root), *argv]) == 2
        assert "unknown plan 'nope'" in capsys.readouterr().err
    assert not (toy.root / "b").exists() and not (toy.root / "r").exists()


# -- bundles per plan ------------------------------------------------------------------

@pytest.mark.parametrize("name", SHIPPED)
def test_bundle_of_each_plan(name, tmp_path, capsys):
    plan = plans.get_plan(LIB, name)
    out = tmp_path / name
    assert cli.main(["--root", str(REPO), "bundle", str(out), "--plan", name]) == 0
    assert f"plan {name}" in capsys.readouterr().out
    assert sorted(p.stem for p in (out / "notebooks").iterdir()) == sorted(plan.ids)
    assert sorted(p.name for p in (out / "exercises").iterdir() if p.name != "_shared") == \
        sorted(plan.ids)
    assert (out / "exercises" / "_shared").is_dir() == plan.ships_shared()
    made = json.loads((out / "bundle.json").read_text())
    assert made["plan"]["name"] == name and made["exercises"] == plan.ids
    assert made["proctor"] == __import__("proctor").__version__
    assert made["sha256"] == bundle.content_hash(out) == bundle.expected_hash(LIB, plan)
    readme = (out / "README.md").read_text()
    assert readme.startswith(f"# {plan.spec.title}\n")
    m = plan.spec.minutes
    box = f"{m // 60} hours" if m >= 120 and m % 60 == 0 else f"{m} minutes"
    assert f"**Time box: {box}**" in readme
    assert plan.spec.instructions.strip().splitlines()[0] in readme
    for item in plan.items:
        assert f"(`{item.id}`) | {item.exercise.spec.track} | {item.points:g} | " \
               f"{item.minutes} min |" in readme
    assert f"In all: {plan.points:g} points" in readme


def test_bundle_hash_is_the_content(tmp_path):
    plan = plans.get_plan(LIB, "screen")
    a, b = tmp_path / "a", tmp_path / "b"
    bundle.build(LIB, a, plan=plan)
    bundle.build(LIB, b, plan=plan, check_leaks=False)
    assert bundle.content_hash(a) == bundle.content_hash(b)
    (b / "notebooks" / "conv2d.ipynb").write_text("{}")
    assert bundle.content_hash(a) != bundle.content_hash(b)
    with pytest.raises(SpecError, match="not both"):
        bundle.build(LIB, tmp_path / "c", ["box_ops"], plan=plan)


def test_material_switches(toy, tmp_path):
    write_plan(toy, "bare", TOY_PLAN + "[material]\npublic_checks = false\n")
    out = tmp_path / "bare"
    bundle.build(toy, out, plan=plans.get_plan(toy, "bare"))
    assert not (out / "exercises" / "toy_code" / "checks.py").exists()
    assert (out / "exercises" / "toy_code" / "prompt.md").is_file()
    assert "This stage has no public checks" in (out / "README.md").read_text()


def test_a_bundle_without_a_plan_says_so(tmp_path):
    bundle.build(LIB, tmp_path / "b", ["box_ops"])
    made = json.loads((tmp_path / "b" / "bundle.json").read_text())
    assert made["plan"] is None and made["exercises"] == ["box_ops"]
    assert (tmp_path / "b" / "README.md").read_text().startswith("# Your proctor exercises")


# -- grading as a plan -----------------------------------------------------------------

def _submission(lib: Library, tmp_path: Path, plan_name: str | None, name: str) -> Path:
    """A submission packed by `proctor submit` from a bundle of ``plan_name``, with the toy
    code exercise solved."""
    b = tmp_path / f"bundle-{name}"
    if plan_name:
        bundle.build(lib, b, plan=plans.get_plan(lib, plan_name))
    else:
        bundle.build(lib, b)
    nb = b / "notebooks" / "toy_code.ipynb"
    if nb.exists():
        from test_check_cli import set_starter_cell

        set_starter_cell(nb, "import numpy as np\n\ndef double(x):\n    return np.asarray(x) * 2\n")
    out = tmp_path / f"{name}.zip"
    assert submit.pack(b, out, Library.find(b)) == 0
    return out


def _grade(lib, path, plan_name):
    return grade_submission(path, lib, None, unsafe=True,
                            plan=plans.get_plan(lib, plan_name) if plan_name else None)


def test_grading_as_the_plan_weights_and_names_it(toy, tmp_path):
    sub = _submission(toy, tmp_path, "toy", "alice")
    r = _grade(toy, sub, "toy")
    assert [e.id for e in r.exercises] == ["toy_code"]
    code = r.exercises[0]
    assert code.score == 1 and code.max_score == 2  # the public check passes, the hidden fails
    assert r.plan["name"] == "toy" and r.plan["warnings"] == [] and r.plan["notes"] == []
    assert (r.plan["score"], r.plan["max_score"]) == (5, 10)  # toy_code weighs 10 points here
    assert r.plan["graded"] == [{"id": "toy_code", "weight": 5.0, "score": 5, "max_score": 10}]
    assert r.problems == []
    said = r.submission["manifest"]
    assert said["plan"] == "toy" and said["bundle_sha256"] == r.plan["bundle_sha256"]
    assert said["deadline_snapshot"] is False and said["session_started"] is None
    assert said["notebooks"]["toy_code"]["changed"] is True
    assert r.submission["received"] and r.submission["graded"]
    d = r.to_dict()
    assert d["plan"]["name"] == "toy" and d["submission"]["manifest"]["plan"] == "toy"


def test_a_submission_from_another_plan_is_a_warning_not_a_crash(toy, tmp_path):
    sub = _submission(toy, tmp_path, "other", "bob")  # toy_art only
    r = _grade(toy, sub, "toy")
    assert [e.id for e in r.exercises] == ["toy_code"] and r.exercises[0].status == "missing"
    assert len(r.plan["warnings"]) == 1
    assert "made from plan 'other' (its manifest says), graded as plan 'toy'" in \
        r.plan["warnings"][0]
    assert f"plan: {r.plan['warnings'][0]}" in r.problems
    # a bundle without a plan, holding every exercise: the other one is ignored, with a note
    sub = _submission(toy, tmp_path, None, "carol")
    r = _grade(toy, sub, "toy")
    assert "made from a bundle without a plan" in r.plan["warnings"][0]
    assert r.plan["ignored"] == ["toy_art"]
    assert r.plan["notes"] == ["toy_art: in the submission but not in plan 'toy'; ignored"]
    assert r.exercises[0].score == 1


def test_another_bundle_version_and_no_manifest(toy, tmp_path):
    sub = _submission(toy, tmp_path, "toy", "dave")
    prompt = toy.root / "exercises" / "toy_code" / "prompt.md"
    prompt.write_text(prompt.read_text() + "\nA clarified sentence.\n")  # the library moved on
    r = _grade(toy, sub, "toy")
    assert "made from another version of the 'toy' bundle" in r.plan["warnings"][0]
    # a folder handed in without `proctor submit`: nothing to compare, said so
    folder = tmp_path / "erin"
    with zipfile.ZipFile(sub) as zf:
        zf.extractall(folder)
    (folder / "manifest.json").unlink()
    r = _grade(toy, folder, "toy")
    assert r.plan["warnings"] == [] and "no readable manifest.json" in r.plan["notes"][0]
    assert r.submission["manifest"] is None


def test_claims_are_hostile_data(tmp_path):
    root = tmp_path / "sub"
    root.mkdir()
    (root / "manifest.json").write_text(json.dumps({
        "plan": ["not", "a", "string"], "bundle": {"sha256": "x" * 5000},
        "session": "nope", "submitted_epoch": float("1e300"), "deadline_snapshot": "yes",
        "exercises": {"a": {"notebook_modified": 7, "changed_from_starter": True}}}))
    with intake.open_submission(root) as sub:
        said = claims(sub)
    assert said["plan"] is None and len(said["bundle_sha256"]) == 200
    assert said["session_started"] is None and said["submitted_epoch"] is None
    assert said["deadline_snapshot"] is None
    assert said["notebooks"] == {"a": {"modified": None, "changed": True}}
    (root / "manifest.json").write_text("[1, 2")
    with intake.open_submission(root) as sub:
        assert claims(sub) is None


def test_plan_section_weights_each_exercise():
    plan = plans.get_plan(LIB, "edge")
    rep = Report({"name": "x", "sha256": ""}, [
        ExerciseResult("onnx_export", "t", "graded", 20.0, 20.0),
        ExerciseResult("quantize_int8", "t", "graded", 10.0, 20.0),
        ExerciseResult("prune", "t", "missing", 0.0, 20.0)], {})
    sec = plan_section(plan, rep, None, None, [])
    assert [g["weight"] for g in sec["graded"]] == [0.5, 1.0, 1.0]
    assert (sec["score"], sec["max_score"]) == (20.0, 50.0)


def test_grade_cli_with_a_plan(toy, tmp_path, capsys):
    sub = _submission(toy, tmp_path, "toy", "frank")
    out = tmp_path / "reports"
    argv = ["--root", str(toy.root), "grade", str(sub), "--out", str(out), "--plan", "toy",
            "--unsafe-no-sandbox"]
    assert cli.main(argv) == 0
    assert "frank: 1 / 2 (plan toy: 5 / 10)" in capsys.readouterr().out
    report = json.loads((out / "frank" / "report.json").read_text())
    assert report["plan"]["name"] == "toy"
    summary = json.loads((out / "summary.json").read_text())
    assert summary[0]["plan"] == {"name": "toy", "score": 5, "max_score": 10, "warnings": []}
    html = (out / "frank" / "report.html").read_text()
    assert "Graded as plan <b>Toy stage</b>" in html and "5 / 10" in html
    assert "interview plan toy" in (out / "index.html").read_text()
    assert cli.main([*argv[:-1], "--exercise", "toy_art", "--unsafe-no-sandbox"]) == 2
    assert "not in plan toy" in capsys.readouterr().err


def test_a_late_submission_is_noted_from_its_own_clock(toy, tmp_path):
    from proctor.candidate import session

    b = tmp_path / "bundle"
    bundle.build(toy, b, plan=plans.get_plan(toy, "toy"))
    session.start(b, lambda: 1_900_000_000.0)
    out = tmp_path / "late.zip"
    assert submit.pack(b, out, Library.find(b), now=lambda: 1_900_000_000.0 + 45 * 60) == 0
    r = _grade(toy, out, "toy")
    assert "submitted 15 min after the session's deadline (by the candidate's own clock)" in \
        r.problems
    assert r.submission["manifest"]["minutes"] == 30


# -- the gradebook names the plan ------------------------------------------------------

def _graded_as(toy, tmp_path, out_name, plan_name, names):
    subs = [_submission(toy, tmp_path, "toy", n) for n in names]
    argv = ["--root", str(toy.root), "grade", *map(str, subs), "--out", str(tmp_path / out_name),
            "--unsafe-no-sandbox"] + (["--plan", plan_name] if plan_name else [])
    assert cli.main(argv) == 0
    return tmp_path / out_name


def _top(html: str) -> str:
    return html[html.index("<h1>"):html.index('id="scores"')]


def test_the_gradebook_names_the_plan_and_says_when_plans_differ(toy, tmp_path, capsys):
    run1 = _graded_as(toy, tmp_path, "run1", "toy", ["alice", "bob"])
    top = _top((run1 / "index.html").read_text())
    assert "Graded as interview plan toy: <b>Toy stage</b> — screen stage, time box 30 min, " \
           "10 plan points (toy_code (10 points, 5 min))" in top
    assert "different interview plans" not in top
    heat = (run1 / "index.html").read_text()
    assert "the interview plan's weighted score" in heat and "<b>5</b>&nbsp;/&nbsp;10" in heat
    # merged with a run graded without a plan: the page says the totals do not compare,
    # and which submissions come from which plan
    run2 = _graded_as(toy, tmp_path, "run2", None, ["carol"])
    merged = tmp_path / "merged"
    assert cli.main(["--root", str(toy.root), "gradebook", str(run1), str(run2), "--out",
                     str(merged)]) == 0
    top = _top((merged / "index.html").read_text())
    assert "These reports were graded as different interview plans" in top
    assert "Graded as interview plan" not in top
    assert "plan <b>toy</b>: Toy stage — screen stage, time box 30 min, 10 plan points: " \
           "2 submissions (alice, bob)" in top
    assert "<b>no plan</b> (graded without <code>--plan</code>): 1 submission (carol)" in top
    # the merge keeps each report's plan section (report.json is rewritten from the model)
    assert json.loads((merged / "alice" / "report.json").read_text())["plan"]["name"] == "toy"
    assert json.loads((merged / "carol" / "report.json").read_text())["plan"] is None
    summary = {s["name"]: s["plan"] for s in json.loads((merged / "summary.json").read_text())}
    assert summary["alice"]["name"] == "toy" and summary["carol"] is None
    # rebuilt in place from its own report.json files: still named
    assert cli.main(["--root", str(toy.root), "gradebook", str(run1), "--out", str(run1)]) == 0
    assert "Graded as interview plan toy" in (run1 / "index.html").read_text()


def test_one_plan_name_with_two_definitions_is_two_plans():
    from proctor.report.book import plans as book_plans

    def rep(minutes, score):
        plan = {"name": "screen", "title": "Screen", "stage": "screen", "minutes": minutes,
                "points": 40, "exercises": [{"id": "conv2d", "points": 20, "minutes": 25}],
                "score": score, "max_score": 40, "warnings": []}
        return Report({"name": "x", "sha256": ""}, [], {}, [], plan)

    same = book_plans([("a", rep(60, 10)), ("b", rep(60, 30))])
    assert same["one"]["name"] == "screen" and same["one"]["time_box"] == "60 min"
    assert not same["mixed"]
    edited = book_plans([("a", rep(60, 10)), ("b", rep(120, 30))])
    assert edited["one"] is None and edited["mixed"] and edited["edited"] == ["screen"]
    assert [p["label"] for p in edited["plans"]] == ["screen (version 1)", "screen (version 2)"]
    assert edited["plans"][1]["time_box"] == "2 h"


def test_one_plan_ranks_by_its_weighted_score():
    """Exercise points and the plan's weights can disagree: one plan's gradebook ranks by the
    plan (what the stage decided counts), mixed ones by exercise points."""
    from proctor.report.book import book_view

    def rep(ex_score, plan_score, plan="screen"):
        p = {"name": plan, "title": "S", "stage": "screen", "minutes": 60, "points": 40,
             "exercises": [], "score": plan_score, "max_score": 40, "warnings": []}
        e = ExerciseResult("conv2d", "C", "graded", ex_score, 50.0, track="ml")
        return Report({"name": "x", "sha256": ""}, [e], {}, [], p)

    graded = [("more_points", rep(30, 15)), ("better_by_plan", rep(25, 25))]
    assert [r["name"] for r in book_view(graded, [], [], 0.5)["rows"]] == [
        "better_by_plan", "more_points"]
    mixed = [graded[0], ("other_plan", rep(25, 25, "onsite"))]
    assert [r["name"] for r in book_view(mixed, [], [], 0.5)["rows"]] == [
        "more_points", "other_plan"]
