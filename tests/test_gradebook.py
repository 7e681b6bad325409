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
    assert html.count("graded without a sandbox") == 2  # graded unsafely: every row says so
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


def test_links_go_both_ways_and_paths_are_relative(tiny_lib, tmp_path, monkeypatch):
    strong = submission_dir(tmp_path / "s" / "strong", {"adder": [ADD], "scale": [SCALE]})
    partial = submission_dir(tmp_path / "s" / "partial", {"adder": [WRONG_ADD]})
    monkeypatch.chdir(tmp_path)  # paths must not depend on where grading ran
    rc, out = grade(tiny_lib, tmp_path, strong, partial)
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [s["report"] for s in summary] == ["strong/report.html", "partial/report.html"]
    html = (out / "index.html").read_text()
    assert 'href="strong/report.html#adder"' in html  # a cell opens that exercise
    assert 'href="partial/report.html#scale"' in html
    for name in ("strong", "partial"):
        page = (out / name / "report.html").read_text()
        assert '<a href="../index.html">' in page
        assert 'id="adder"' in page and 'id="scale"' in page
    # per-track subtotals (adder: algorithms, scale: ml) and the missing flag as text
    assert ">Algorithms</th>" in html and ">ML fundamentals</th>" in html
    row = html[html.index('href="partial/report.html"'):]
    row = row[:row.index("</tr>")]
    assert "missing" in row


def test_gradebook_command_merges_runs_without_regrading(tiny_lib, tmp_path, monkeypatch):
    """Two grading runs (say, two shards) merged into one gradebook from their
    report.json files: same reports, one page, no grading (grading is patched to fail)."""
    from proctor.cli import main

    a = submission_dir(tmp_path / "s" / "alice", {"adder": [ADD], "scale": [SCALE]})
    b = submission_dir(tmp_path / "s" / "bob", {"adder": [WRONG_ADD]})
    run1 = gradebook.grade_many([a], tiny_lib, tmp_path / "run1", None, unsafe=True)
    run2 = gradebook.grade_many([b], tiny_lib, tmp_path / "run2", None, unsafe=True)
    assert run1 == run2 == 0

    def no_grading(*args, **kwargs):
        raise AssertionError("gradebook must not grade")

    monkeypatch.setattr(gradebook, "grade_submission", no_grading)
    out = tmp_path / "merged"
    rc = main(["--root", str(tiny_lib.root), "gradebook", str(tmp_path / "run1"),
               str(tmp_path / "run2"), "--out", str(out)])
    assert rc == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {s["name"]: s["score"] for s in summary} == {"alice": 6, "bob": json.loads(
        (tmp_path / "run2" / "bob" / "report.json").read_text())["score"]}
    html = (out / "index.html").read_text()
    assert html.index('href="alice/report.html"') < html.index('href="bob/report.html"')
    for name in ("alice", "bob"):  # the folder is whole: each report is there, linked back
        assert '<a href="../index.html">' in (out / name / "report.html").read_text()
        assert json.loads((out / name / "report.json").read_text())["schema"] == \
            "proctor.report/1"
    # rebuilding the same gradebook gives the same page (no state besides the reports)
    again = tmp_path / "again"
    assert main(["--root", str(tiny_lib.root), "gradebook", str(out), "--out",
                 str(again)]) == 0
    assert (again / "index.html").read_text() == html


def test_gradebook_command_usage_errors(tmp_path, capsys):
    from proctor.cli import main

    assert main(["gradebook", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert "no such folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["gradebook", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    assert "holds no <name>/report.json" in capsys.readouterr().err
    bad = tmp_path / "bad" / "x"
    bad.mkdir(parents=True)
    (bad / "report.json").write_text("{not json")
    assert main(["gradebook", str(tmp_path / "bad"), "--out", str(tmp_path / "o")]) == 2
    assert "not a readable report" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_item_analysis_and_similarity_sections(tiny_lib, tmp_path):
    """Five submissions: item analysis appears; two that copied each other's helper
    code (renamed) are flagged, as evidence, with their scores untouched."""
    helper = ("def _combine(first, second):\n    total = first\n    for _ in range(1):\n"
              "        total = total + second * 1\n    return total\n\n"
              "def _unused(values, factor):\n    out = []\n    for v in values:\n"
              "        out.append(v * factor + 0)\n    return out\n\n"
              "def _pairs(values):\n    seen = {}\n    for i, v in enumerate(values):\n"
              "        if v in seen:\n            return seen[v], i\n        seen[v] = i\n"
              "    return None\n\n")
    copied = helper.replace("_combine", "_join").replace("total", "acc").replace(
        "first", "lhs").replace("_unused", "_spare").replace("values", "items")
    subs = [submission_dir(tmp_path / "s" / "orig", {"adder": [helper + "def add(a, b):\n"
                                                                "    return _combine(a, b)\n"]}),
            submission_dir(tmp_path / "s" / "copy", {"adder": [copied + "def add(a, b):\n"
                                                                "    return _join(a, b)\n"]})]
    subs += [submission_dir(tmp_path / "s" / f"other{i}", {"adder": [ADD if i else WRONG_ADD],
                                                             "scale": [SCALE]})
             for i in range(3)]
    rc, out = grade(tiny_lib, tmp_path, *subs)
    assert rc == 0
    html = (out / "index.html").read_text()
    assert "Item analysis" in html and "add_negative" in html and "difficulty" in html
    pairs = html[html.index('id="similarity"'):html.index('id="items"')]
    assert "never a score change" in pairs
    assert 'href="similarity.html#pair-1"' in pairs and ">copy<" in pairs and ">orig<" in pairs
    assert "other" not in pairs
    side = (out / "similarity.html").read_text()
    assert 'id="pair-1"' in side and "<mark>" in side and 'href="index.html"' in side
    assert 'href="../similarity.html#pair-1"' in (out / "copy" / "report.html").read_text()
    scores = {s["name"]: s["score"] for s in json.loads((out / "summary.json").read_text())}
    assert scores["copy"] == scores["orig"] == 4  # a flag changes no score
