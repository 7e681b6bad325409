"""The gradebook: one report per submission, a comparison of all of them, and one
broken submission (or harness bug) never costs the others their reports."""

from __future__ import annotations

import csv
import json

from conftest import submission_dir

from proctor.grading import many as gradebook

ADD = "def add(a, b):\n    return a + b\n"
SCALE = "def scale(x, k):\n    return x * k\n"
WRONG_ADD = "def add(a, b):\n    return a - b\n"


def grade(lib, tmp_path, *subs, jobs=1):
    out = tmp_path / "out"
    return gradebook.grade_many(list(subs), lib, out, None, unsafe=True, jobs=jobs), out


def test_index_and_csv_compare_submissions_best_first(tiny_lib, tmp_path):
    strong = submission_dir(tmp_path / "s" / "strong", {"adder": [ADD], "scale": [SCALE]})
    partial = submission_dir(tmp_path / "s" / "partial", {"adder": [WRONG_ADD]})
    rc, out = grade(tiny_lib, tmp_path, partial, strong, jobs=2)
    assert rc == 0
    rows = list(csv.reader((out / "summary.csv").open()))
    assert rows[0] == ["submission", "score", "max_score", "adder", "adder_status", "scale",
                       "scale_status"]
    assert rows[1][:3] == ["strong", "6.0", "6.0"] and rows[1][3:] == ["4.0", "graded", "2.0",
                                                                        "graded"]
    assert rows[2][0] == "partial" and rows[2][5:] == ["0.0", "missing"]
    assert float(rows[2][1]) < 6
    html = (out / "index.html").read_text()
    assert html.index('href="strong/report.html"') < html.index('href="partial/report.html"')
    assert "no sandbox" in html  # graded unsafely: every row says so
    summary = json.loads((out / "summary.json").read_text())
    assert [s["name"] for s in summary] == ["partial", "strong"]  # command-line order


def test_candidate_controlled_names_are_escaped(tiny_lib, tmp_path):
    evil = submission_dir(tmp_path / "s" / "=HYPERLINK(1)<script>x", {"adder": [ADD]})
    rc, out = grade(tiny_lib, tmp_path, evil)
    assert rc == 0
    html = (out / "index.html").read_text()
    assert "<script>x" not in html and "&lt;script&gt;x" in html
    rows = list(csv.reader((out / "summary.csv").open()))
    assert rows[1][0] == "'=HYPERLINK(1)<script>x"


def test_a_harness_bug_costs_only_its_own_submission(tiny_lib, tmp_path, monkeypatch, capsys):
    good = submission_dir(tmp_path / "s" / "good", {"adder": [ADD], "scale": [SCALE]})
    cursed = submission_dir(tmp_path / "s" / "cursed", {"adder": [ADD]})
    real = gradebook.grade_submission

    def flaky(path, *args, **kwargs):
        if path.name == "cursed":
            raise RuntimeError("simulated harness bug")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(gradebook, "grade_submission", flaky)
    rc, out = grade(tiny_lib, tmp_path, cursed, good)
    assert rc == 1  # the harness failed: the exit code says so ...
    assert json.loads((out / "good" / "report.json").read_text())["score"] == 6  # ... not lost
    bad = json.loads((out / "cursed" / "report.json").read_text())
    assert bad["score"] == 0 and bad["environment"]["harness_error"] is True
    assert all(e["status"] == "error" and "harness error" in e["message"]
               for e in bad["exercises"])
    assert "simulated harness bug" in capsys.readouterr().err
