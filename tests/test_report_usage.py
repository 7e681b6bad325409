"""A typo is not a zero: usage errors exit 2 before anything is graded, naming the
argument and the valid choices; a submission that exists but holds nothing still gets
its report, with the problem at the top."""

from __future__ import annotations

import json

from proctor.cli import main


def run(tiny_lib, *argv: str) -> int:
    return main(["--root", str(tiny_lib.root), *argv])


def test_a_missing_submission_path_grades_nothing(tiny_lib, tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    out = tmp_path / "out"
    rc = run(tiny_lib, "grade", str(real), str(tmp_path / "nonexistent"), "--out", str(out),
             "--unsafe-no-sandbox")
    assert rc == 2
    err = capsys.readouterr().err
    assert "SUBMISSION" in err and "nonexistent" in err and "nothing was graded" in err
    assert not out.exists()  # not even the real one: a typo stops the whole command


def test_an_unknown_exercise_names_the_valid_ones(tiny_lib, tmp_path, capsys):
    real = tmp_path / "real"
    real.mkdir()
    out = tmp_path / "out"
    assert run(tiny_lib, "grade", str(real), "--exercise", "nope", "--out", str(out),
               "--unsafe-no-sandbox") == 2
    err = capsys.readouterr().err
    assert "--exercise" in err and "'nope'" in err and "valid: adder, scale" in err
    assert not out.exists()
    assert run(tiny_lib, "calibrate", "adder", "nope") == 2
    assert "'nope'" in capsys.readouterr().err
    assert run(tiny_lib, "bundle", str(tmp_path / "b"), "--exercise", "nope") == 2
    assert "valid: adder, scale" in capsys.readouterr().err and not (tmp_path / "b").exists()


def test_an_empty_submission_still_gets_its_report(tiny_lib, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    out = tmp_path / "out"
    assert run(tiny_lib, "grade", str(empty), "--out", str(out), "--unsafe-no-sandbox") == 0
    report = json.loads((out / "empty" / "report.json").read_text())
    assert report["problems"][0].startswith("nothing to grade")
    html = (out / "empty" / "report.html").read_text()
    assert html.index("nothing to grade") < html.index('id="profile"')
