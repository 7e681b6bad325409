"""``proctor submit``: one zip with a manifest, warnings for what is missing or oversized,
and exactly what ``proctor grade`` accepts."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from test_check_cli import set_starter_cell
from test_local_check import make_toy_library

from proctor import cli, sandbox
from proctor.library import bundle
from proctor.library.spec import Library
from proctor.submission import intake, submit

REPO = Path(__file__).resolve().parents[1]
LIB = Library(REPO)


@pytest.fixture
def bundle_dir(tmp_path) -> Path:
    out = tmp_path / "bundle"
    bundle.build(LIB, out)
    return out


def run_submit(capsys, bundle_dir: Path, out: Path) -> tuple[int, str, str]:
    rc = cli.main(["submit", "--bundle", str(bundle_dir), "--out", str(out)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def grade_args() -> list[str]:
    return [] if sandbox.isolation().get("available") else ["--unsafe-no-sandbox"]


def test_zip_and_manifest(bundle_dir, tmp_path, capsys):
    (bundle_dir / "notebooks" / ".ipynb_checkpoints").mkdir()
    (bundle_dir / "notebooks" / ".ipynb_checkpoints" / "box_ops-checkpoint.ipynb").write_text("{}")
    (bundle_dir / "artifacts" / "box_ops" / "weights.bin").write_bytes(os.urandom(3000))
    out = tmp_path / "submission.zip"
    rc, stdout, stderr = run_submit(capsys, bundle_dir, out)
    assert rc == 0, stderr
    assert f"wrote {out}" in stdout
    with zipfile.ZipFile(out) as zf:
        names = sorted(zf.namelist())
        manifest = json.loads(zf.read("manifest.json"))
        for info in zf.infolist():  # regular files, as intake requires
            assert stat.S_ISREG(info.external_attr >> 16), info
        contents = {n: zf.read(n) for n in names}
    expected = sorted([f"notebooks/{i}.ipynb" for i in LIB.ids()]
                      + ["artifacts/box_ops/weights.bin", "manifest.json"])
    assert names == expected
    assert manifest["schema"] == "proctor.submission/1"
    assert sorted(f["path"] for f in manifest["files"]) == [n for n in expected
                                                            if n != "manifest.json"]
    for f in manifest["files"]:
        data = contents[f["path"]]
        assert f["bytes"] == len(data)
        assert f["sha256"] == hashlib.sha256(data).hexdigest()
        assert data == (bundle_dir / f["path"]).read_bytes()
    assert set(manifest["exercises"]) == set(LIB.ids())
    assert manifest["exercises"]["box_ops"]["artifacts"] == ["artifacts/box_ops/weights.bin"]
    # grading's own intake opens it
    with intake.open_submission(out) as sub:
        for ex_id in LIB.ids():
            assert sub.notebook(ex_id) is not None


def test_warnings(bundle_dir, tmp_path, capsys, monkeypatch):
    (bundle_dir / "notebooks" / "connected_components.ipynb").unlink()
    (bundle_dir / "notebooks" / "scratch.ipynb").write_text("{}")
    big = bundle_dir / "artifacts" / "box_ops" / "big.bin"
    big.write_bytes(os.urandom(5000))
    os.symlink("/etc/passwd", bundle_dir / "artifacts" / "box_ops" / "link")
    monkeypatch.setattr(submit, "ARTIFACT_WARN_BYTES", 4000)
    rc, stdout, stderr = run_submit(capsys, bundle_dir, tmp_path / "s.zip")
    assert rc == 0
    assert ("warning: connected_components: notebooks/connected_components.ipynb is missing; "
            "this exercise will be graded as missing") in stderr
    assert "warning: box_ops: notebooks/box_ops.ipynb is the unchanged starter" in stderr
    assert "warning: artifacts/box_ops/big.bin: 0.0 MB is large" in stderr
    assert "warning: artifacts/box_ops/link: symlink skipped" in stderr
    assert "warning: notebooks/scratch.ipynb: not an exercise notebook" in stderr
    assert "MISSING (no notebook)" in stdout
    with zipfile.ZipFile(tmp_path / "s.zip") as zf:
        assert "artifacts/box_ops/link" not in zf.namelist()
        assert json.loads(zf.read("manifest.json"))["warnings"]


def test_artifact_exercise_warnings(tmp_path, capsys):
    lib = make_toy_library(tmp_path / "lib")
    b = tmp_path / "bundle"
    bundle.build(lib, b)
    rc, _, stderr = run_submit(capsys, b, tmp_path / "a.zip")
    assert rc == 0
    assert ("warning: toy_art: artifacts/toy_art/answer.txt is missing; this exercise will be "
            "graded as missing") in stderr
    (b / "artifacts" / "toy_art" / "answer.txt").write_text("42 and far too many bytes")
    rc, stdout, stderr = run_submit(capsys, b, tmp_path / "b.zip")
    assert rc == 0
    assert "answer.txt is missing" not in stderr
    assert ("warning: artifacts/toy_art/answer.txt: 25 bytes is over the size budget (8 bytes)"
            in stderr)
    assert "artifact + notebook" in stdout


def test_refuses_what_grading_would_refuse(bundle_dir, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(intake, "MAX_FILE_BYTES", 10_000)
    (bundle_dir / "artifacts" / "box_ops" / "huge.bin").write_bytes(b"x" * 20_000)
    out = tmp_path / "s.zip"
    rc, _, stderr = run_submit(capsys, bundle_dir, out)
    assert rc == 1
    assert "error: artifacts/box_ops/huge.bin: 0 MB is larger than grading accepts" in stderr
    assert not out.exists() and not list(tmp_path.glob("*.zip"))


def test_highly_compressible_files_stay_under_the_zip_bomb_cap(bundle_dir, tmp_path, capsys):
    """A sparse model compresses far beyond intake's ratio cap: it is stored, not deflated."""
    (bundle_dir / "artifacts" / "box_ops" / "zeros.bin").write_bytes(bytes(2_000_000))
    out = tmp_path / "s.zip"
    rc, _, stderr = run_submit(capsys, bundle_dir, out)
    assert rc == 0, stderr
    with zipfile.ZipFile(out) as zf:
        info = zf.getinfo("artifacts/box_ops/zeros.bin")
        assert info.compress_type == zipfile.ZIP_STORED
        assert info.file_size / max(1, info.compress_size) <= intake.MAX_RATIO
    with intake.open_submission(out) as sub:
        assert (sub.root / "artifacts" / "box_ops" / "zeros.bin").stat().st_size == 2_000_000


def test_not_a_bundle(tmp_path, capsys):
    rc, _, stderr = run_submit(capsys, tmp_path, tmp_path / "s.zip")
    assert rc == 1 and "no notebooks/ folder here" in stderr


def test_default_paths_from_the_bundle_folder(bundle_dir, capsys, monkeypatch):
    monkeypatch.chdir(bundle_dir)
    assert cli.main(["submit"]) == 0
    assert (bundle_dir / "submission.zip").is_file()
    capsys.readouterr()
    assert cli.main(["submit"]) == 0  # again: the old zip is not packed into the new one
    with zipfile.ZipFile(bundle_dir / "submission.zip") as zf:
        assert not [n for n in zf.namelist() if n.endswith(".zip")]


def test_grade_accepts_the_submission(bundle_dir, tmp_path, capsys):
    """Reference solution in one notebook: that exercise scores full marks, the untouched
    one scores zero, a deleted one is `missing`."""
    ex = LIB.get("box_ops")
    set_starter_cell(bundle_dir / "notebooks" / "box_ops.ipynb",
                     (ex.solutions_dir / "accepted" / "reference.py").read_text())
    others = [i for i in LIB.ids() if i != "box_ops"]
    removed = others[0] if others else None
    if removed:
        (bundle_dir / "notebooks" / f"{removed}.ipynb").unlink()
    out = tmp_path / "alice.zip"
    rc, _, _ = run_submit(capsys, bundle_dir, out)
    assert rc == 0
    reports = tmp_path / "reports"
    assert cli.main(["grade", str(out), "--out", str(reports), *grade_args()]) == 0
    capsys.readouterr()
    report = json.loads((reports / "alice" / "report.json").read_text())
    assert report["schema"] == "proctor.report/1" and report["problems"] == []
    by_id = {e["id"]: e for e in report["exercises"]}
    assert by_id["box_ops"]["status"] == "graded"
    assert by_id["box_ops"]["score"] == by_id["box_ops"]["max_score"] == ex.spec.points, (
        [(c["id"], c["status"], c["message"]) for c in by_id["box_ops"]["checks"]])
    for ex_id in others:
        e = by_id[ex_id]
        if "NotImplementedError" in LIB.get(ex_id).starter:
            assert e["score"] == 0
        else:  # train_debug: the untouched starter is the broken pipeline; its contract holds
            assert e["score"] < e["max_score"] / 10, e
        # an artifact exercise with no saved model is `missing` too: nothing to grade
        unsaved = LIB.get(ex_id).spec.kind == "artifact"
        assert e["status"] == ("missing" if ex_id == removed or unsaved else "graded"), e
    assert report["score"] == ex.spec.points + sum(by_id[i]["score"] for i in others)
