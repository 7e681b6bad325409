"""report.html: escapes candidate-controlled text, warns loudly when unsafe."""

from __future__ import annotations

from proctor.report import CheckResult, ExerciseResult, Report, points_for
from proctor.report.html import render, write_html

XSS = "<script>alert('x')</script>"


def report(unsafe: bool, text: str = XSS) -> Report:
    checks = [CheckResult("nms_basic", "correctness", "fail", 0.0, 2.0, False, message=text),
              CheckResult("lat", "latency", "inconclusive", points_for("inconclusive", 3), 3.0,
                          True, message="straddles", measured={"ratio": 3.05},
                          budget={"max": 3.0})]
    exercises = [
        ExerciseResult("box_ops", f"Box ops {text}", "graded", 1.5, 5.0, checks,
                       message=text, output=f"print: {text}",
                       cell_errors=[{"cell": 2, "type": "ValueError", "message": text,
                                     "traceback": text}]),
        ExerciseResult("empty", "Empty", "missing", 0.0, 0.0, message="no notebook"),
    ]
    env = {"proctor": "0.1.0", "unsafe_no_sandbox": unsafe,
           "sandbox": {"available": not unsafe, "reason": text}}
    return Report({"name": f"eve{text}", "sha256": "0" * 64}, exercises, env, [text])


def test_candidate_text_is_escaped():
    html = render(report(False))
    assert "<script>" not in html
    assert "&lt;script&gt;alert(" in html
    assert html.count("&lt;script&gt;") >= 7  # name, problems, title, messages, output...


def test_unsafe_banner_only_when_unsafe():
    assert "GRADED WITHOUT A SANDBOX" in render(report(True))
    assert "GRADED WITHOUT A SANDBOX" not in render(report(False))


def test_scores_statuses_and_measurements_are_shown(tmp_path):
    html = render(report(False, "assert 3 == 2"))
    assert "1.5 / 5" in html and "1.5 / 3" in html  # totals and the inconclusive half
    assert "assert 3 == 2" in html
    assert 'class="inconclusive"' in html and 'class="missing"' in html
    assert "ratio: 3.05" in html and "max=3.0" in html
    assert "(hidden)" in html and "half" in html
    write_html(report(False), tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text() == render(report(False))
