"""report.html: the decision first (totals, competency profile, what failed), failing
checks expanded and passing ones collapsed, budgets drawn against their limit, numbers
formatted, and every candidate-controlled string escaped."""

from __future__ import annotations

import re

from proctor.report import CheckResult, ExerciseResult, Report, points_for
from proctor.report.html import render, write_html
from proctor.report.view import one_line

XSS = "<script>alert('x')</script>"
LATENCY = {"ratio": 19.4, "interval": [18.1, 20.6], "confidence": 0.99,
           "drift_allowance": 0.02, "blocks": 3, "calls_per_block": 1, "seconds": 16.11,
           "clock": "cpu:cgroup", "reference_ms_per_call": 68.6922,
           "candidate_ms_per_call": 1041.3869, "staging_share": 0.011}


def report(unsafe: bool, text: str = XSS) -> Report:
    checks = [CheckResult("nms_basic", "correctness", "fail", 0.0, 2.0, False, message=text),
              CheckResult("lat", "latency", "inconclusive", points_for("inconclusive", 3), 3.0,
                          True, message="straddles", measured={"ratio": 3.05},
                          budget={"kind": "latency", "max": 3.0, "unit": "x reference"}),
              CheckResult("slow", "latency", "fail", 0.0, 3.0, True,
                          message="label is 19.4x the reference", measured=LATENCY,
                          budget={"kind": "latency", "max": 3.0, "unit": "x reference"},
                          calibration={"accepted": [0.9, 1.3], "rejected": [9.0, 30.0]}),
              CheckResult("ok_check", "correctness", "pass", 1.0, 1.0, True, message="fine",
                          measured={"error": 0.1 + 0.2, "size_bytes": 2097152})]
    exercises = [
        ExerciseResult("box_ops", f"Box ops {text}", "graded",
                       sum(c.points for c in checks), 9.0, checks, message=text,
                       output=f"print: {text}", track="algorithms",
                       cell_errors=[{"cell": 2, "type": "ValueError", "message": text,
                                     "traceback": text}], source=f"x = '{text}'"),
        ExerciseResult("geometry", "Geometry", "graded", 2.0, 2.0,
                       [CheckResult("tri", "correctness", "pass", 2.0, 2.0, True)],
                       track="cv", skills=["3D geometry"]),
        ExerciseResult("empty", "Empty", "missing", 0.0, 4.0, message="no notebook",
                       track="cv"),
    ]
    env = {"proctor": "0.1.0", "unsafe_no_sandbox": unsafe,
           "sandbox": {"available": not unsafe, "reason": text}}
    return Report({"name": f"eve{text}", "sha256": "0" * 64}, exercises, env, [text])


def test_candidate_text_is_escaped():
    html = render(report(False))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(" in html
    assert html.count("&lt;script&gt;") >= 8  # name, problems, title, messages, output, code


def test_unsafe_banner_only_when_unsafe():
    assert "GRADED WITHOUT A SANDBOX" in render(report(True))
    assert "GRADED WITHOUT A SANDBOX" not in render(report(False))


def test_the_decision_comes_first():
    html = render(report(False, "assert 3 == 2"))
    title = html.index("<h1>")
    assert "4.5 / 15" in html[title:title + 200]  # 0 + 1.5 + 0 + 1, + 2, of 9 + 2 + 4
    profile, failed = html.index('id="profile"'), html.index('id="failed"')
    first_exercise = html.index('<h2 id="box_ops"')
    assert title < profile < failed < first_exercise
    # competency profile: tracks by the role's names, then the extra skill
    prof = html[profile:failed]
    assert prof.index("Algorithms") < prof.index("CV modelling") < prof.index("3D geometry")
    assert "2 / 6" in prof  # CV modelling: geometry 2/2 + the missing exercise 0/4
    # what failed: every non-passing check and the missing exercise, linked to its detail
    listing = html[failed:first_exercise]
    for anchor in ("box_ops--nms_basic", "box_ops--lat", "box_ops--slow", "empty"):
        assert f'href="#{anchor}"' in listing
        assert f'id="{anchor}"' in html  # ... and the target exists
    assert "ok_check" not in listing and "not submitted: no notebook" in listing


def test_failing_checks_are_open_and_passing_ones_collapsed():
    html = render(report(False, "assert 3 == 2"))
    assert re.search(r'<details class="check" id="box_ops--nms_basic" open>', html)
    assert re.search(r'<details class="check" id="box_ops--ok_check">', html)
    passing = html.index("1 passing check</summary>")
    assert passing < html.index('id="box_ops--ok_check"')


def test_a_budget_is_a_bar_against_its_limit_in_its_unit():
    html = render(report(False, "x"))
    slow = html[html.index('id="box_ops--slow"'):html.index('id="box_ops--ok_check"')]
    assert 'class="gauge fail"' in slow
    assert "measured 19.4× the reference (interval 18.1–20.6) against a budget of ≤ 3× the " \
           "reference: 6.47× the budget" in slow
    assert "(log scale)" in slow  # 0.9 .. 30 does not fit a linear bar
    assert 'class="range accepted"' in slow and 'class="range rejected"' in slow
    limit = float(re.search(r'class="limit" style="left:([\d.]+)%', slow).group(1))
    value = float(re.search(r'class="val" style="left:([\d.]+)%', slow).group(1))
    assert limit < value  # over the budget: drawn right of the line
    assert "19.4× vs ≤ 3×" in slow  # the headline in the summary line


def test_measured_details_are_labelled_rows_with_units_never_raw_dicts():
    html = render(report(False, "x"))
    slow = html[html.index('id="box_ops--slow"'):html.index('id="box_ops--ok_check"')]
    assert "<dt>candidate, per call</dt><dd>1,041 ms</dd>" in slow
    assert "<dt>99 % interval</dt><dd>18.1× – 20.6×</dd>" in slow
    assert "<dt>input staging share of the reference&#39;s time</dt><dd>1.1 %</dd>" in slow
    assert "drift_allowance" not in html and "{" not in slow.split("<dl", 1)[1]
    ok = html[html.index('id="box_ops--ok_check"'):]
    assert "<dd>0.3</dd>" in ok and "0.30000000000000004" not in html
    assert "<dt>size</dt><dd>2,097,152 bytes (2 MiB)</dd>" in ok


def test_one_line_reasons():
    shrunk = ("smallest failing input (N=3 tied scores): (array([[1, 2]]),\n [3, 4]])\n"
              "nms: got [2 1], expected [2 0]")
    assert one_line(shrunk) == "nms: got [2 1], expected [2 0] (smallest failing input: " \
                               "N=3 tied scores)"
    assert one_line("\n\nfirst\nsecond") == "first"
    assert len(one_line("x" * 500)) == 180


def test_gradebook_link_and_similarity_flags():
    flags = [{"exercise": "box_ops", "other": f"bob{XSS}", "percent": 91,
              "href": "../similarity.html#pair-1"}]
    html = render(report(False), gradebook="../index.html", flags=flags)
    assert '<a href="../index.html">' in html
    assert 'href="../similarity.html#pair-1"' in html and "never a score change" in html
    assert f"bob{XSS}" not in html
    assert '<a href="../index.html">' not in render(report(False))


def test_write_html_writes_the_rendering(tmp_path):
    write_html(report(False), tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == render(report(False))
