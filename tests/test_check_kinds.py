"""The suite every check kind passes (proctor.kinds), and the registry's own rules.

Each registered kind is run through the places that read the registry: the spec's budgets,
``@check``, ``Context`` (``ctx.<kind>(...)``), the report's labels and gauge, calibration's
margins and the submit tool's size warning. A new kind is added to ``proctor/kinds/`` and
registered there; this suite then covers it with no edit (tests/test_new_kind.py does that
for a kind defined in a test).
"""

from __future__ import annotations

import pytest
from conftest import ADDER_TOML, build_library, write

from proctor import calibrate as cal
from proctor import kinds
from proctor.calibrate import table as vt
from proctor.checks import Context, check
from proctor.checks.registry import CheckDef
from proctor.kinds import Kind, NoReference
from proctor.kinds import base as kinds_base
from proctor.library.spec import SpecError, load_spec
from proctor.report import CheckResult, ExerciseResult, Report, render
from proctor.report.gauge import gauge, judged_value
from proctor.report.numbers import LABELS, label_and_unit
from proctor.submission import submit

KINDS = [kinds.get_kind(n) for n in kinds.kind_names()]


def by_name(kind: Kind) -> str:
    return kind.name


def test_the_built_in_kinds():
    """The five of report.json's contract, first and in this order (error messages list
    them so); a new kind registers after them."""
    assert kinds.kind_names()[:5] == ("correctness", "latency", "memory", "size", "accuracy")
    assert kinds.budget_kind_names()[:4] == ("latency", "memory", "size", "accuracy")


# ------------------------------------------------------------------------ the suite


@pytest.mark.parametrize("kind", KINDS, ids=by_name)
def test_registered_under_its_name(kind):
    assert kinds_base._NAME.match(kind.name)
    assert kinds.get_kind(kind.name) is kind and kinds.lookup(kind.name) is kind
    assert (kind.name in kinds.budget_kind_names()) == kind.budgeted


@pytest.mark.parametrize("kind", KINDS, ids=by_name)
def test_a_spec_declares_its_budget_iff_budgeted(kind, tmp_path):
    ex = tmp_path / "adder"
    write(ex / "exercise.toml", ADDER_TOML + f'\n[budgets.b]\nkind = "{kind.name}"\nmax = 1\n')
    write(ex / "prompt.md", "# adder\n")
    write(ex / "starter.py", "")
    if kind.budgeted:
        assert load_spec(ex / "exercise.toml").budgets["b"].kind == kind.name
    else:
        with pytest.raises(SpecError, match="field 'budgets.b.kind': Input should be"):
            load_spec(ex / "exercise.toml")


@pytest.mark.parametrize("kind", KINDS, ids=by_name)
def test_a_check_declares_it(kind):
    @check(points=1, kind=kind.name)
    def c(ctx):
        pass

    assert c.__proctor_check__["kind"] == kind.name


@pytest.mark.parametrize("kind", KINDS, ids=by_name)
def test_ctx_dot_kind_is_its_measure(kind, tmp_path):
    """``ctx.<name>`` reaches the kind (no Context attribute hides it); without a reference
    a kind that needs one says so before measuring."""
    lib = build_library(tmp_path / "lib")
    ctx = Context(lib.get("adder"), candidate=None, reference=None, check_id="c", seed=1,
                  hidden=False)
    assert kind.name not in Context.__dataclass_fields__
    assert kind.name not in vars(Context), "a Context attribute would hide ctx.<kind>"
    if not kind.measures:
        with pytest.raises(AttributeError, match="object has no attribute"):
            getattr(ctx, kind.name)
        with pytest.raises(AttributeError, match="measures nothing"):
            ctx.measure(kind.name)
        return
    bound = getattr(ctx, kind.name)
    assert bound.func == ctx.measure and bound.args == (kind.name,)
    if kind.needs_reference:
        with pytest.raises(NoReference, match=f"{kind.name} checks need the reference"):
            bound("f", lambda rng: (), budget="b")


@pytest.mark.parametrize("kind", KINDS, ids=by_name)
def test_the_report_labels_what_it_measures(kind):
    """Every labelled key reads as the kind says: no generic label and no other kind's
    label for the same key contradicts it."""
    for key, (label, unit) in kind.labels.items():
        assert isinstance(key, str) and isinstance(label, str) and label
        assert isinstance(unit, str)
        assert key not in LABELS, f"{key!r} is a generic label already"
        assert label_and_unit(key) == (label, unit), f"another kind labels {key!r} otherwise"
    for key in kind.margin_keys:
        assert key in kind.labels or key in LABELS, f"margin key {key!r} has no label"


def _measured(kind: Kind) -> dict:
    out = {"ratio": 1.5, "interval": [1.2, 1.8], "seconds": 2.0, "bytes": 4096}
    out.update({k: 3.0 for k in kind.labels})
    return out


@pytest.mark.parametrize("kind", KINDS, ids=by_name)
def test_the_report_renders_a_check_of_it(kind):
    measured = _measured(kind)
    budget = {"kind": kind.name, "max": 2.0, "unit": "x reference"}
    c = CheckResult("c", kind.name, "pass", 1, 1, True, "", measured, budget)
    html = render(Report({"name": "s", "sha256": "0" * 64},
                         [ExerciseResult("adder", "Adder", "graded", 1, 1, [c])], {}))
    for label, _ in kind.labels.values():
        assert label.replace("'", "&#39;") in html
    if "value" not in measured:  # else the grader's own "value" is what a budget judges
        assert judged_value(kind.name, measured, budget)[0] == 1.5
    assert gauge(kind.name, "pass", measured, budget) is not None
    in_bytes = kind.bytes_measured(measured)
    assert in_bytes is None or in_bytes > 0
    value, _ = judged_value(kind.name, measured, dict(budget, unit="KiB"))
    assert value == (in_bytes / 1024 if in_bytes is not None else None)


@pytest.mark.parametrize("kind", KINDS, ids=by_name)
def test_calibration_prints_margins_iff_it_has_margin_keys(kind):
    def verdict(name, status, value, must_fail=frozenset()):
        measured = {k: value for k in kind.margin_keys} | {"interval": [value, value]}
        c = CheckResult("c", kind.name, status, 0, 1, True, measured=measured,
                        budget={"kind": kind.name, "max": 3.0, "unit": "x reference"})
        return cal.Verdict(cal.Solution(name, None, must_fail),
                           ExerciseResult("ex", "Ex", "graded", 0, 1, [c]))

    text = "\n".join(vt._margins([verdict("accepted/r", "pass", 1.0),
                                  verdict("rejected/w", "fail", 9.0, frozenset({"c"}))]))
    if kind.margin_keys:
        assert "c: budget 3.0 x reference" in text
        assert "slowest passing upper bound 1 = 0.33x the budget" in text
        assert "fastest failing lower bound 9 = 3.00x the budget" in text
    else:
        assert text == ""


@pytest.mark.parametrize("kind", [k for k in KINDS if k.budgeted], ids=by_name)
def test_the_submit_tool_warns_of_a_byte_budget_iff_it_limits_files(kind, tmp_path):
    lib = build_library(tmp_path / "lib")
    toml = lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text() + f'\n[budgets.b]\nkind = "{kind.name}"\nmax = 2\n'
                                       'unit = "KiB"\n')
    assert submit._byte_limit(lib.get("adder")) == (2048 if kind.limits_files else None)


# ------------------------------------------------------------------------ the registry


def test_register_refuses_a_bad_name_and_a_taken_one():
    class Bad(Kind):
        name = "Not-A-Name"

    with pytest.raises(ValueError, match="lower-case identifier"):
        kinds.register(Bad())

    class Latency2(Kind):
        name = "latency"

    with pytest.raises(ValueError, match="'latency' is already registered"):
        kinds.register(Latency2())
    assert kinds.register(kinds.get_kind("latency")) is kinds.get_kind("latency")


def test_unknown_kinds():
    with pytest.raises(ValueError, match=r"unknown check kind 'speed'; use one of \("):
        kinds.get_kind("speed")
    with pytest.raises(ValueError, match="unknown check kind 'speed'"):
        check(points=1, kind="speed")
    other = kinds.lookup("from_a_newer_engine")  # a report written elsewhere still renders
    assert type(other) is Kind and other.bytes_measured({"bytes": 10}) == 10.0
    assert not other.margin_keys and not other.measures


def test_checkdef_keeps_the_kind_name():
    d = CheckDef("c", lambda ctx: None, 1.0, "size", True, None, "", "x.py")
    assert d.kind == "size"


# ------------------------------------------------------------------------ the built-in measures

MEMORY_BUDGET = """
[budgets.add_memory]
kind = "memory"
max = {max}
unit = "{unit}"
"""

MEMORY_CHECK = '''

@check(points=1, kind="memory", budget="add_memory")
def add_memory(ctx):
    return ctx.memory("add", lambda rng: (rng.random(2_000_000), rng.random(2_000_000)),
                      budget="add_memory", calls=2)
'''


@pytest.mark.parametrize("max_,unit,status", [(3, "x reference", "pass"), (1, "MiB", "fail")])
def test_ctx_memory_measures_through_its_kind(tmp_path, max_, unit, status):
    """``ctx.memory(...)`` in a grader reaches proctor.measure.memory with the check's
    budget and seed (no library exercise has a memory check, so it is proved here)."""
    from proctor.grading import grade_exercise, reference_source

    lib = build_library(tmp_path / "lib")
    toml = lib.root / "exercises" / "adder" / "exercise.toml"
    toml.write_text(toml.read_text().replace("points = 4", "points = 5")
                    + MEMORY_BUDGET.format(max=max_, unit=unit))
    checks = lib.root / "graders" / "adder" / "checks.py"
    checks.write_text(checks.read_text() + MEMORY_CHECK)
    ex = lib.get("adder")
    ref = reference_source(ex)
    result = grade_exercise(ex, ref, ref, hidden=True, unsafe=True)
    c = next(c for c in result.checks if c.id == "add_memory")
    assert (c.kind, c.status) == ("memory", status), c.message
    assert c.budget == {"kind": "memory", "max": float(max_), "unit": unit}
    assert c.measured["calls"] == 2 and c.measured["candidate_mib"] > 15  # 2 x 16 MB in
    assert ("ratio" in c.measured) == (unit == "x reference")
