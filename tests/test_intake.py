"""Submissions are data until sandboxed: hostile zips and directories."""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from conftest import notebook_json, submission_dir, tree_digest, write

from proctor.submission import intake
from proctor.submission.intake import IntakeError, open_submission

NB = notebook_json(["def add(a, b):\n    return a + b"])


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]],
             compression=zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in entries:
            if isinstance(name, str):
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFREG | 0o644) << 16
                info.compress_type = compression
            else:
                info = name
            zf.writestr(info, data)
    return path


def entry(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3
    return info


def open_fails(path: Path, *needles: str) -> str:
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(IntakeError) as info:
        open_submission(path)
    msg = str(info.value)
    for n in needles:
        assert n in msg, msg
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert info.value.sha256 == before  # the rejected zip is still identified (req. 7)
    return msg


@pytest.fixture(autouse=True)
def no_leftover_extractions(tmp_path, monkeypatch):
    """Every extraction goes under tmp_path/extract and is gone afterwards."""
    scratch = tmp_path / "extract"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    yield
    assert list(scratch.iterdir()) == []


# ------------------------------------------------------------------ good zips


def test_good_zip_is_extracted_privately(tmp_path):
    z = make_zip(tmp_path / "alice.zip", [("notebooks/adder.ipynb", NB.encode()),
                                          ("artifacts/scale/model.bin", b"\0" * 10)])
    with open_submission(z) as sub:
        assert sub.name == "alice"
        assert sub.sha256 == hashlib.sha256(z.read_bytes()).hexdigest()
        assert sub.notebook("adder").read_text() == NB
        assert sub.notebook("scale") is None
        assert (sub.artifact_dir("scale") / "model.bin").read_bytes() == b"\0" * 10
        assert not sub.root.is_relative_to(tmp_path / "alice.zip")
        root = sub.root
    assert not root.exists()


def test_zip_of_the_bundle_folder_is_accepted(tmp_path):
    z = make_zip(tmp_path / "bob.zip", [("my-bundle/notebooks/adder.ipynb", NB.encode()),
                                        ("my-bundle/README.md", b"hi")])
    with open_submission(z) as sub:
        assert sub.notebook("adder") is not None


def test_a_folder_zipped_on_macos_is_accepted(tmp_path):
    z = make_zip(tmp_path / "mac.zip", [("bundle/notebooks/adder.ipynb", NB.encode()),
                                        ("__MACOSX/bundle/notebooks/._adder.ipynb", b"\0\5"),
                                        ("__MACOSX/bundle/notebooks/scale.ipynb", b"junk"),
                                        (".DS_Store", b"\0")])
    with open_submission(z) as sub:
        assert sub.notebook("adder").read_text() == NB
        assert sub.notebook("scale") is None  # never taken from the junk folder
        assert sub.problems == []


def test_a_misplaced_notebook_is_graded_and_named(tmp_path):
    z = make_zip(tmp_path / "flat.zip", [("adder.ipynb", NB.encode()),
                                         (".ipynb_checkpoints/scale.ipynb", NB.encode())])
    with open_submission(z) as sub:
        assert sub.notebook("adder").read_text() == NB
        assert sub.notebook("adder").read_text() == NB  # asked twice, said once
        assert sub.problems == ["notebooks/adder.ipynb not found; graded adder.ipynb instead "
                                "(the only file of that name)"]
        assert sub.notebook("scale") is None


def test_an_ambiguous_misplaced_notebook_is_not_guessed(tmp_path):
    z = make_zip(tmp_path / "two.zip", [("try1/adder.ipynb", NB.encode()),
                                        ("try2/adder.ipynb", NB.encode()),
                                        ("notebooks/scale.ipynb", NB.encode())])
    with open_submission(z) as sub:
        assert sub.notebook("adder") is None
        (problem,) = sub.problems
        assert "try1/adder.ipynb" in problem and "try2/adder.ipynb" in problem
        assert "none graded" in problem


def test_entries_without_file_type_bits_are_plain_files(tmp_path):
    # ZipFile.writestr("name", data) stores permission bits only (0o600, no S_IFREG).
    z = tmp_path / "plain.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("notebooks/adder.ipynb", NB)
        zf.writestr(entry("notebooks/dos.txt", 0), b"made on Windows")
    with open_submission(z) as sub:
        assert sub.notebook("adder").read_text() == NB


# ------------------------------------------------------------------ hostile zips


@pytest.mark.parametrize("name", ["../evil.ipynb", "notebooks/../../evil.ipynb",
                                  "a/../../../etc/x", "..\\evil"])
def test_zip_slip(tmp_path, name):
    z = make_zip(tmp_path / "slip.zip", [("notebooks/adder.ipynb", NB.encode()),
                                         (name, b"pwned")])
    open_fails(z, "'..'")
    assert not (tmp_path / "evil.ipynb").exists()
    assert not (tmp_path.parent / "evil.ipynb").exists()


@pytest.mark.parametrize("name", ["/etc/evil", "/tmp/evil.ipynb", "\\evil", "C:/evil",
                                  "c:\\windows\\evil"])
def test_absolute_paths(tmp_path, name):
    z = make_zip(tmp_path / "abs.zip", [(name, b"pwned")])
    open_fails(z, "absolute path")


def test_symlink_entries(tmp_path):
    z = make_zip(tmp_path / "link.zip", [
        ("notebooks/ok.ipynb", NB.encode()),
        (entry("notebooks/adder.ipynb", stat.S_IFLNK | 0o777), b"/etc/passwd"),
    ])
    open_fails(z, "symlink", "notebooks/adder.ipynb")


@pytest.mark.parametrize("kind", [stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK])
def test_device_and_special_entries(tmp_path, kind):
    z = make_zip(tmp_path / "dev.zip", [(entry("notebooks/adder.ipynb", kind | 0o666), b"")])
    open_fails(z, "not a regular file")


def test_too_many_entries(tmp_path, monkeypatch):
    monkeypatch.setattr(intake, "MAX_ENTRIES", 5)
    z = make_zip(tmp_path / "many.zip", [(f"f{i}", b"x") for i in range(6)])
    open_fails(z, "6 entries exceeds the cap of 5")
    make_zip(tmp_path / "five.zip", [(f"f{i}", b"x") for i in range(5)])
    open_submission(tmp_path / "five.zip").close()


def test_zip_bomb_ratio(tmp_path):
    z = make_zip(tmp_path / "bomb.zip", [("notebooks/adder.ipynb", b"\0" * (8 << 20))])
    assert zipfile.ZipFile(z).infolist()[0].compress_size < (8 << 20) / intake.MAX_RATIO
    open_fails(z, "compression ratio", "zip bomb")


def test_file_and_total_size_caps(tmp_path, monkeypatch):
    data = os.urandom(4000)  # incompressible: no ratio problem
    monkeypatch.setattr(intake, "MAX_FILE_BYTES", 3000)
    z = make_zip(tmp_path / "big.zip", [("notebooks/adder.ipynb", data)])
    open_fails(z, "4000 bytes", "cap 3000")
    monkeypatch.setattr(intake, "MAX_FILE_BYTES", 10_000)
    monkeypatch.setattr(intake, "MAX_TOTAL_BYTES", 6000)
    z = make_zip(tmp_path / "total.zip", [("a", data), ("b", data)])
    open_fails(z, "uncompressed")


def _patch_sizes(path: Path, declared: int) -> None:
    """Make both headers claim ``declared`` uncompressed bytes (a lie)."""
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, 22, declared)              # local file header
    cd = data.find(b"PK\x01\x02")
    struct.pack_into("<I", data, cd + 24, declared)         # central directory
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("compression", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_sizes_lying_in_headers(tmp_path, compression):
    z = make_zip(tmp_path / "liar.zip", [("notebooks/adder.ipynb", os.urandom(5000))],
                 compression)
    _patch_sizes(z, 100)  # claims 100 bytes, holds 5000
    open_fails(z, "liar.zip")


def test_declared_size_over_the_cap_is_refused_before_reading(tmp_path):
    z = make_zip(tmp_path / "huge.zip", [("notebooks/adder.ipynb", b"x" * 100)],
                 zipfile.ZIP_STORED)
    _patch_sizes(z, intake.MAX_FILE_BYTES + 1)
    open_fails(z, "cap")


def test_corrupt_compressed_data(tmp_path):
    z = make_zip(tmp_path / "corrupt.zip", [("notebooks/adder.ipynb", os.urandom(5000))])
    data = bytearray(z.read_bytes())
    for i in range(60, 200):
        data[i] ^= 0xFF
    z.write_bytes(bytes(data))
    open_fails(z, "corrupt.zip")


@pytest.mark.parametrize("content", [b"not a zip at all", b"", b"PK\x03\x04" + b"\0" * 50,
                                     b"\x7fELF" + os.urandom(100)])
def test_non_zip_with_zip_suffix(tmp_path, content):
    path = tmp_path / "fake.zip"
    path.write_bytes(content)
    open_fails(path, "fake.zip", "not a readable zip")


def test_truncated_zip(tmp_path):
    z = make_zip(tmp_path / "cut.zip", [("notebooks/adder.ipynb", NB.encode())])
    z.write_bytes(z.read_bytes()[:-30])
    open_fails(z, "cut.zip")


# ------------------------------------------------------------------ directories


def test_directory_submission_with_symlinks(tmp_path):
    secret = write(tmp_path / "outside" / "secret.ipynb", NB)
    write(tmp_path / "outside" / "scale.ipynb", NB)
    sub_dir = submission_dir(tmp_path / "carol", {"scale": ["x = 1"]})
    os.symlink(secret, sub_dir / "notebooks" / "adder.ipynb")
    os.symlink(tmp_path / "outside", sub_dir / "artifacts")
    os.mkfifo(sub_dir / "notebooks" / "fifo.ipynb")
    before = tree_digest(sub_dir)
    with open_submission(sub_dir) as sub:
        assert sub.root == sub_dir and sub.name == "carol"
        problems = "\n".join(sub.problems)
        assert "notebooks/adder.ipynb: symlinks are not accepted" in problems
        assert "artifacts: symlinks are not accepted" in problems
        assert "notebooks/fifo.ipynb: not a regular file" in problems
        assert sub.notebook("adder") is None              # not followed
        assert sub.artifact_dir("scale") is None          # not followed through artifacts/
        assert sub.notebook("scale") is not None
        linked_free = sub.sha256
    assert tree_digest(sub_dir) == before
    os.unlink(sub_dir / "notebooks" / "adder.ipynb")
    assert open_submission(sub_dir).sha256 == linked_free  # link targets are not hashed


def test_symlinked_notebooks_folder_is_not_followed(tmp_path):
    write(tmp_path / "elsewhere" / "adder.ipynb", NB)
    sub_dir = tmp_path / "dave"
    sub_dir.mkdir()
    os.symlink(tmp_path / "elsewhere", sub_dir / "notebooks")
    with open_submission(sub_dir) as sub:
        assert sub.notebook("adder") is None
        assert any("notebooks: symlinks" in p for p in sub.problems)


def test_directory_hash_depends_on_names_and_contents(tmp_path):
    a = submission_dir(tmp_path / "a", {"adder": NB})
    b = submission_dir(tmp_path / "b", {"adder": NB})
    assert open_submission(a).sha256 == open_submission(b).sha256
    write(b / "notebooks" / "adder.ipynb", NB.replace("a + b", "b + a"))
    assert open_submission(a).sha256 != open_submission(b).sha256
    (b / "notebooks" / "adder.ipynb").rename(b / "notebooks" / "other.ipynb")
    write(b / "notebooks" / "other.ipynb", NB)
    assert open_submission(a).sha256 != open_submission(b).sha256


# ------------------------------------------------------------------ single files and others


def test_single_solution_file_needs_an_exercise(tmp_path):
    sol = write(tmp_path / "off_by_one" / "solution.py", "def add(a, b):\n    return a\n")
    with pytest.raises(IntakeError, match="needs --exercise"):
        open_submission(sol)
    with open_submission(sol, "adder") as sub:
        assert sub.name == "off_by_one"  # solution.py is named after its folder
        assert sub.notebook("adder") == sol and sub.notebook("scale") is None
        assert sub.sha256 == hashlib.sha256(sol.read_bytes()).hexdigest()
    nb = write(tmp_path / "mine.ipynb", NB)
    assert open_submission(nb, "adder").name == "mine"


def test_other_paths_are_refused(tmp_path):
    with pytest.raises(IntakeError, match="no such file") as info:
        open_submission(tmp_path / "nothing")
    assert info.value.sha256 == hashlib.sha256(b"").hexdigest()
    with pytest.raises(IntakeError, match="not a submission") as info:
        open_submission(write(tmp_path / "notes.txt", "hi"))
    assert info.value.sha256 == hashlib.sha256(b"hi").hexdigest()
    with pytest.raises(IntakeError, match="--exercise") as info:
        open_submission(write(tmp_path / "solution.py", "x = 1\n"))
    assert info.value.sha256 == hashlib.sha256(b"x = 1\n").hexdigest()


def test_the_report_of_a_rejected_zip_carries_its_sha256(tiny_lib, tmp_path):
    """report.json's contract: submission.sha256 is 64 hex of the zip as given, also when
    the zip is refused (it used to be an empty string)."""
    import json

    from proctor.grading.many import grade_one

    z = make_zip(tmp_path / "evil.zip", [("../../escaped.ipynb", b"x")])
    report = grade_one(z, tiny_lib, tmp_path / "out", None, True, "evil")
    assert all(e.status == "error" for e in report.exercises)
    data = json.loads((tmp_path / "out" / "evil" / "report.json").read_text())
    assert data["submission"] == {"name": "evil",
                                  "sha256": hashlib.sha256(z.read_bytes()).hexdigest()}


def test_grading_leaves_the_submission_unchanged(tiny_lib, tmp_path):
    from proctor.grading.submission import grade_submission

    sub_dir = submission_dir(tmp_path / "erin", {
        "adder": ["def add(a, b):\n    return a + b",
                  "open('written_by_candidate.txt', 'w').write('x')"],
        "scale": ["import os\ndef scale(x, k):\n    return x * k"],
    })
    z = tmp_path / "erin.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for p in sorted(sub_dir.rglob("*.ipynb")):
            zf.write(p, p.relative_to(sub_dir))
    before_dir, before_zip = tree_digest(sub_dir), z.read_bytes()
    for path in (sub_dir, z):
        report = grade_submission(path, tiny_lib, None, unsafe=True)
        assert [e.status for e in report.exercises] == ["graded", "graded"]
        assert report.score == 6
    assert tree_digest(sub_dir) == before_dir
    assert z.read_bytes() == before_zip
