"""Sharded grading and the merge (issue 16): ``proctor grade --shard I/N`` grades a
deterministic share of the submissions, ``proctor gradebook DIR… --out DIR`` merges the
shards' folders without regrading, and the merged gradebook equals a single-machine run
(apart from timings). The merge refuses what would make the gradebook lie: a submission
twice, reports graded by different versions, a missing or incomplete shard.

Grading runs through the command line on the tiny library of conftest (no latency budgets,
so verdicts are deterministic and reports compare exactly) with ``--unsafe-no-sandbox``:
the subject here is sharding, not isolation (the sandbox has its own tests).
"""

from __future__ import annotations

import csv
import json
import random
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import build_library, run_cli, submission_dir, validate_report, write

from proctor import cli
from proctor.grading.many import _names, grade_many, library_version, parse_shard, shard_of
from proctor.library.spec import Library

ADD = "def add(a, b):\n    return a + b\n"
WRONG_ADD = "def add(a, b):\n    return a - b\n"
SCALE = "def scale(x, k):\n    return x * k\n"
UNSAFE = "--unsafe-no-sandbox"
TIMINGS = {"seconds", "grading_seconds", "received", "graded"}  # when, not what


def ok(proc):
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def refused(proc, *phrases: str) -> str:
    assert proc.returncode == 2, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    for phrase in phrases:
        assert phrase in proc.stderr, proc.stderr
    return proc.stderr


def untimed(obj):
    """A report without what differs between two runs of the same grading: timings, and
    the object addresses that pytest's assertion messages quote."""
    if isinstance(obj, dict):
        return {k: untimed(v) for k, v in obj.items() if k not in TIMINGS}
    if isinstance(obj, list):
        return [untimed(v) for v in obj]
    if isinstance(obj, str):
        return re.sub(r"0x[0-9a-f]{6,}", "0x…", obj)
    return obj


def report_folders(out: Path) -> dict[str, dict]:
    found = {}
    for path in sorted(out.glob("*/report.json")):
        data = json.loads(path.read_text())
        validate_report(data)
        assert (path.parent / "report.html").is_file()
        found[path.parent.name] = untimed(data)
    return found


# ------------------------------------------------------------------ the shard function


@pytest.mark.parametrize("count", [1, 2, 3, 7, 10])
def test_every_submission_lands_in_exactly_one_shard_whatever_the_order(count):
    rng = random.Random(count)
    names = [f"cand{rng.randrange(10**6)}-{i}" for i in range(53)]
    where = shard_of(names, count)
    assert set(where) == set(names) and set(where.values()) <= set(range(count))
    sizes = [list(where.values()).count(i) for i in range(count)]
    assert max(sizes) - min(sizes) <= 1  # balanced: no shard waits on a bigger one
    shuffled = names[:]
    rng.shuffle(shuffled)
    assert shard_of(shuffled, count) == where
    # what each of the N pods keeps: a partition of the inputs
    kept = [[n for n in shuffled if shard_of(shuffled, count)[n] == i] for i in range(count)]
    assert sorted(n for share in kept for n in share) == sorted(names)


def test_colliding_names_do_not_depend_on_the_argument_order(tmp_path):
    paths = [tmp_path / "a" / "alice", tmp_path / "b" / "alice", tmp_path / "bob.zip",
             tmp_path / "c" / "alice-2", tmp_path / "carol" / "solution.py"]
    names = dict(zip(paths, _names(paths), strict=True))
    assert sorted(names.values()) == sorted(set(names.values()))  # unique
    assert names[paths[0]] == "alice" and names[paths[1]] == "alice-2"
    assert names[paths[4]] == "carol"
    for seed in range(5):
        shuffled = paths[:]
        random.Random(seed).shuffle(shuffled)
        assert dict(zip(shuffled, _names(shuffled), strict=True)) == names


@pytest.mark.parametrize("text", ["1/4", "0/1", "9/10"])
def test_shard_syntax_accepted(text):
    i, n = parse_shard(text)
    assert f"{i}/{n}" == text


@pytest.mark.parametrize("text", ["4/4", "-1/4", "1/0", "1", "a/b", "$(JOB_COMPLETION_INDEX)/4",
                                  "1/4/2"])
def test_shard_syntax_refused_with_the_expected_form(text, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args(["grade", "x", "--out", "o", f"--shard={text}"])
    assert exc.value.code == 2
    assert "expected I/N with 0 <= I < N" in capsys.readouterr().err


def test_help_documents_the_new_flags():
    grade = ok(run_cli("grade", "--help")).stdout
    assert "--shard I/N" in grade and "JOB_COMPLETION_INDEX" in grade
    assert "gradebook" in ok(run_cli("--help")).stdout
    book = ok(run_cli("gradebook", "--help")).stdout
    assert book.startswith("usage: proctor gradebook") and "--out" in book
    assert "exit 2" in " ".join(book.split())


# ------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    """A tiny library and eight submissions (dirs, zips, a name collision, an unreadable
    zip), graded once on one machine and once as three shards."""
    tmp = tmp_path_factory.mktemp("campaign")
    lib = build_library(tmp / "lib")
    s = tmp / "subs"
    subs = [
        submission_dir(s / "alice", {"adder": [ADD], "scale": [SCALE]}),
        submission_dir(s / "bob", {"adder": [WRONG_ADD], "scale": [SCALE]}),
        submission_dir(s / "late" / "alice", {"adder": [ADD]}),  # another 'alice'
        submission_dir(s / "dave", {"scale": [SCALE]}),
        submission_dir(s / "erin", {"adder": [ADD, "raise RuntimeError('after')"]}),
        submission_dir(s / "=frank", {"adder": [WRONG_ADD]}),
    ]
    carol = s / "carol.zip"
    with zipfile.ZipFile(carol, "w") as z:
        z.write(subs[0] / "notebooks" / "adder.ipynb", "notebooks/adder.ipynb")
    subs.append(carol)
    subs.append(write(s / "broken.zip", "not a zip"))
    # one exercise keeps it quick; 'dave' (scale only) shows a missing exercise
    args = [sys.executable, "-m", "proctor", "--root", str(lib.root), "grade", *map(str, subs),
            UNSAFE, "--exercise", "adder"]
    single = tmp / "single"
    shards = [tmp / "shards" / str(i) for i in range(3)]
    # side by side, as the pods of an Indexed Job would run
    runs = [subprocess.Popen([*args, "--out", str(single)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)]
    runs += [subprocess.Popen([*args, "--out", str(out), "--shard", f"{i}/3"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i, out in enumerate(shards)]
    for run in runs:
        output, _ = run.communicate(timeout=300)
        assert run.returncode == 0, output
    return {"tmp": tmp, "lib": lib, "subs": subs, "single": single, "shards": shards}


def test_shards_partition_the_submissions(campaign):
    single = set(report_folders(campaign["single"]))
    assert len(single) == 8 and {"alice", "alice-2", "carol", "broken"} <= single
    graded = []
    for i, out in enumerate(campaign["shards"]):
        shard = json.loads((out / "shard.json").read_text())
        assert (shard["shard"], shard["of"]) == (i, 3)
        assert set(report_folders(out)) == set(shard["graded"])
        assert json.loads((out / "summary.json").read_text()) is not None  # its own gradebook
        graded += shard["graded"]
    assert sorted(graded) == sorted(single)  # each exactly once
    assert all(json.loads((o / "shard.json").read_text())["graded"] for o in campaign["shards"])


def test_merged_gradebook_equals_the_single_machine_run(campaign):
    merged = campaign["tmp"] / "merged"
    ok(run_cli("gradebook", *map(str, campaign["shards"]), "--out", str(merged)))
    single = campaign["single"]
    assert {p.name for p in merged.iterdir()} == {p.name for p in single.iterdir()}
    assert report_folders(merged) == report_folders(single)  # same reports apart from timings
    for name in ("summary.json", "summary.csv", "index.html"):
        assert (merged / name).read_text() == (single / name).read_text(), name
    summary = json.loads((merged / "summary.json").read_text())
    for row in summary:  # paths relative to the gradebook
        assert row["report"] == f"{row['name']}/report.html"
        assert (merged / row["report"]).is_file()
    rows = list(csv.reader((merged / "summary.csv").open()))
    assert rows[1][0] in ("alice", "alice-2", "carol") and rows[1][1] == "4.0"
    # rebuilding in place changes nothing
    before = {p.name: p.read_bytes() for p in merged.iterdir() if p.is_file()}
    ok(run_cli("gradebook", str(merged), "--out", str(merged)))
    assert {p.name: p.read_bytes() for p in merged.iterdir() if p.is_file()} == before
    # and a retried merge (same inputs, same destination) is harmless
    ok(run_cli("gradebook", *map(str, campaign["shards"]), "--out", str(merged)))


def test_a_shard_given_its_inputs_in_another_order_grades_the_same_share(campaign):
    out = campaign["tmp"] / "reordered"
    subs = list(reversed(campaign["subs"]))
    ok(run_cli("--root", str(campaign["lib"].root), "grade", *map(str, subs), UNSAFE,
               "--exercise", "adder", "--out", str(out), "--shard", "1/3"))
    assert report_folders(out) == report_folders(campaign["shards"][1])


def assert_nothing_written(out: Path) -> None:
    assert not out.exists()


def test_merge_refuses_a_submission_present_twice(campaign, tmp_path):
    out = tmp_path / "merged"
    s0, s1, s2 = campaign["shards"]
    err = refused(run_cli("gradebook", str(s0), str(s1), str(s2), str(campaign["single"]),
                          "--out", str(out)), "duplicate submission")
    assert "the same submission graded twice" in err
    assert_nothing_written(out)
    # two different submissions under one name (e.g. graded in separate runs)
    other = tmp_path / "other-run"
    shutil.copytree(campaign["single"] / "alice-2", other / "alice")
    report = json.loads((other / "alice" / "report.json").read_text())
    assert report["submission"]["sha256"] != json.loads(
        (campaign["single"] / "alice" / "report.json").read_text())["submission"]["sha256"]
    refused(run_cli("gradebook", str(campaign["single"]), str(other), "--out", str(out)),
            "duplicate submission 'alice'", "two different submissions with one name")
    assert_nothing_written(out)


def test_merge_refuses_a_missing_or_incomplete_shard(campaign, tmp_path):
    s0, s1, s2 = campaign["shards"]
    out = tmp_path / "merged"
    refused(run_cli("gradebook", str(s0), str(s2), "--out", str(out)), "missing shard(s) 1/3")
    refused(run_cli("gradebook", str(s0), str(s1), str(s1), "--out", str(out)), "given twice")
    broken = tmp_path / "s1"
    shutil.copytree(s1, broken)
    lost = json.loads((broken / "shard.json").read_text())["graded"][0]
    shutil.rmtree(broken / lost)  # a pod that died before writing this report
    refused(run_cli("gradebook", str(s0), str(broken), str(s2), "--out", str(out)),
            "shard 1/3 is incomplete", repr(lost))
    refused(run_cli("gradebook", str(s0), str(tmp_path / "nowhere"), "--out", str(out)),
            "no such folder")
    assert_nothing_written(out)


def test_merge_refuses_shards_of_different_runs(campaign, tmp_path):
    """Pods given different inputs (a submission uploaded while the Job ran) would grade
    some submissions twice or never: their shard.json files disagree."""
    s0, s1, s2 = campaign["shards"]
    other = tmp_path / "s2"
    shutil.copytree(s2, other)
    shard = json.loads((other / "shard.json").read_text())
    shard["inputs"].append("zoe")
    (other / "shard.json").write_text(json.dumps(shard))
    refused(run_cli("gradebook", str(s0), str(s1), str(other), "--out", str(tmp_path / "m")),
            "shards of different runs", "9 inputs")


def test_merge_refuses_mixed_library_versions(campaign, tmp_path):
    lib = tmp_path / "lib"
    shutil.copytree(campaign["lib"].root, lib)
    checks = lib / "graders" / "adder" / "checks.py"
    checks.write_text(checks.read_text() + "\n# a grader fixed between two runs\n")
    before = library_version(campaign["lib"].root)
    after = library_version(lib)
    assert before["library_sha256"] != after["library_sha256"]
    assert before["engine_sha256"] == after["engine_sha256"]
    late = submission_dir(tmp_path / "s" / "zoe", {"scale": [SCALE]})  # nothing to run: quick
    newer = tmp_path / "newer"
    assert grade_many([late], Library(lib), newer, ["adder"], unsafe=True) == 0
    out = tmp_path / "merged"
    err = refused(run_cli("gradebook", *map(str, campaign["shards"]), str(newer),
                          "--out", str(out)),
                  "mixed library versions", after["library_sha256"][:12],
                  before["library_sha256"][:12])
    assert "regrade" in err and "duplicate" not in err and "missing shard" not in err
    assert_nothing_written(out)
    # the same late submission graded with the campaign's library merges fine
    same = tmp_path / "same"
    assert grade_many([late], campaign["lib"], same, ["adder"], unsafe=True) == 0
    ok(run_cli("gradebook", *map(str, campaign["shards"]), str(same), "--out", str(out)))
    names = [r["name"] for r in json.loads((out / "summary.json").read_text())]
    assert names[-1] == "zoe" and len(names) == 9


def test_merge_refuses_to_mix_into_a_folder_holding_other_reports(campaign, tmp_path):
    out = tmp_path / "merged"
    write(out / "zoe" / "report.json", json.dumps({"schema": "proctor.report/1"}))
    refused(run_cli("gradebook", *map(str, campaign["shards"]), "--out", str(out)),
            "not among the inputs", "'zoe'")
    assert not (out / "index.html").exists()
    refused(run_cli("gradebook", *map(str, campaign["shards"]), "--out",
                    str(campaign["shards"][0])), "merge into a new folder")


def test_merge_of_plain_report_folders_keeps_their_order(campaign, tmp_path):
    """Report folders without shard.json (e.g. ordinary runs) merge too: in argument order,
    each folder in its own summary.json's order, then by name."""
    single = campaign["single"]
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, names in ((one, ["bob", "alice"]), (two, ["dave", "carol"])):
        for name in names:
            shutil.copytree(single / name, folder / name)
    (one / "summary.json").write_text(json.dumps([{"name": "bob"}, {"name": "alice"}]))
    out = tmp_path / "book"
    ok(run_cli("gradebook", str(one), str(two), "--out", str(out)))
    summary = json.loads((out / "summary.json").read_text())
    assert [r["name"] for r in summary] == ["bob", "alice", "carol", "dave"]
    assert report_folders(out) == {n: report_folders(single)[n] for n in
                                   ("alice", "bob", "carol", "dave")}
    assert not (out / "shard.json").exists()


def test_an_empty_shard_still_writes_its_folder_and_merges(tiny_lib, tmp_path):
    """Fewer submissions than shards: the empty shard's folder says so, the merge works."""
    sub = submission_dir(tmp_path / "s" / "solo", {"adder": [ADD]})
    where = shard_of(["solo"], 2)["solo"]
    outs = [tmp_path / f"shard{i}" for i in range(2)]
    for i, out in enumerate(outs):
        assert grade_many([sub], tiny_lib, out, ["adder"], unsafe=True, shard=(i, 2)) == 0
    empty = outs[1 - where]
    assert json.loads((empty / "summary.json").read_text()) == []
    assert json.loads((empty / "shard.json").read_text())["graded"] == []
    assert (empty / "index.html").is_file()
    ok(run_cli("gradebook", *map(str, outs), "--out", str(tmp_path / "book")))
    assert [r["name"] for r in json.loads((tmp_path / "book" / "summary.json").read_text())] \
        == ["solo"]
