"""Submissions are data until sandboxed: open a directory, .zip or single solution
file without trusting a byte of it.

A .zip is extracted by hand (no ``extractall``) into a private temporary dir with
caps on entries, sizes and compression ratio; absolute paths, ``..``, symlinks
and device files are refused.  A directory is only read, never modified; its
symlinks are refused too.  Problems are collected as messages so that one broken
exercise never stops the others.
"""

from __future__ import annotations

import hashlib
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from proctor.digest import tree_sha256

MAX_ENTRIES = 2000
MAX_TOTAL_BYTES = 1 << 30
MAX_FILE_BYTES = 512 << 20
MAX_RATIO = 200
# what operating systems and editors add to a zipped folder: never part of a submission
JUNK = frozenset({"__MACOSX", ".DS_Store", "Thumbs.db", ".ipynb_checkpoints"})


class IntakeError(ValueError):
    """The submission as a whole cannot be read.

    ``sha256`` identifies what was given (the zip's or file's bytes, the folder's tree), so
    that the report of a rejected submission still names it (report.json contract: 64 hex).
    """

    def __init__(self, message: str, sha256: str = "") -> None:
        super().__init__(message)
        self.sha256 = sha256


@dataclass
class Submission:
    name: str
    sha256: str
    root: Path
    problems: list[str] = field(default_factory=list)
    single: dict[str, Path] = field(default_factory=dict)  # exercise id -> solution file
    _tmp: tempfile.TemporaryDirectory | None = None

    def notebook(self, exercise_id: str) -> Path | None:
        """``notebooks/<id>.ipynb``; failing that, the one ``<id>.ipynb`` elsewhere in the
        submission (a candidate who zipped the notebooks folder's contents, or moved a
        file), which the report then names as a problem."""
        if exercise_id in self.single:
            return self.single[exercise_id]
        path = self.root / "notebooks" / f"{exercise_id}.ipynb"
        if path.is_file() and not self._linked(path):
            return path
        found = [p for p in self._files_named(f"{exercise_id}.ipynb") if not self._linked(p)]
        where = ", ".join(str(p.relative_to(self.root)) for p in found)
        if len(found) == 1:
            self._note(f"notebooks/{exercise_id}.ipynb not found; graded {where} instead "
                       "(the only file of that name)")
            return found[0]
        if found:
            self._note(f"notebooks/{exercise_id}.ipynb not found, and several {exercise_id}.ipynb "
                       f"elsewhere ({where}): none graded")
        return None

    def _note(self, problem: str) -> None:
        if problem not in self.problems:
            self.problems.append(problem)

    def _files_named(self, name: str, depth: int = 3) -> list[Path]:
        """Files called ``name`` at most ``depth`` folders deep, outside OS junk folders."""
        found: list[Path] = []
        level = [self.root]
        for _ in range(depth + 1):
            nxt = []
            for d in level:
                try:
                    children = sorted(d.iterdir())
                except OSError:
                    continue
                for c in children:
                    if c.is_symlink() or c.name in JUNK:
                        continue
                    if c.is_dir():
                        nxt.append(c)
                    elif c.name == name and c.is_file():
                        found.append(c)
            level = nxt
        return found

    def artifact_dir(self, exercise_id: str) -> Path | None:
        path = self.root / "artifacts" / exercise_id
        return path if path.is_dir() and not self._linked(path) else None

    def _linked(self, path: Path) -> bool:
        """True when ``path`` or a folder between it and the root is a symlink."""
        p = self.root
        for part in path.relative_to(self.root).parts:
            p = p / part
            if p.is_symlink():
                return True
        return False

    def close(self) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Submission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def submission_sha256(path: Path) -> str:
    """The identity of a submission as given: a folder's tree hash, a file's content hash
    (streamed: a zip may be large); a path that does not exist hashes as empty content."""
    path = Path(path)
    if path.is_dir():
        return tree_sha256(path)
    h = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


def open_submission(path: Path, exercise_id: str | None = None) -> Submission:
    """Open a directory, a .zip, or (for authors) one solution file for ``exercise_id``.

    An :class:`IntakeError` carries the submission's sha256 whatever the reason."""
    path = Path(path)
    digest = submission_sha256(path)
    try:
        return _open(path, exercise_id, digest)
    except IntakeError as exc:
        exc.sha256 = digest
        raise


def _open(path: Path, exercise_id: str | None, digest: str) -> Submission:
    if not path.exists():
        raise IntakeError(f"{path}: no such file or directory")
    if path.is_dir():
        return Submission(path.name, digest, path, _scan_dir(path))
    if path.suffix == ".zip":
        return _open_zip(path, digest)
    if path.suffix in (".py", ".ipynb"):
        if exercise_id is None:
            raise IntakeError(f"{path}: a single solution file needs --exercise ID")
        name = path.stem if path.stem not in ("solution", "reference") else path.parent.name
        return Submission(name, digest, path.parent, [], {exercise_id: path})
    raise IntakeError(f"{path}: not a submission (expected a directory, .zip, .py or .ipynb)")


def _scan_dir(root: Path) -> list[str]:
    problems = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root)
        if p.is_symlink():
            problems.append(f"{rel}: symlinks are not accepted; ignored")
        elif not (p.is_file() or p.is_dir()):
            problems.append(f"{rel}: not a regular file; ignored")
    return problems


def _safe_member_path(name: str) -> PurePosixPath:
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise IntakeError(f"entry {name!r} has an absolute path")
    if any(part == ".." for part in posix.parts):
        raise IntakeError(f"entry {name!r} escapes the archive with '..'")
    return posix


def _open_zip(path: Path, digest: str) -> Submission:
    try:
        zf = zipfile.ZipFile(path)
    except Exception as exc:  # BadZipFile, OSError, and others on crafted central directories
        raise IntakeError(f"{path.name}: not a readable zip ({exc})") from None
    tmp = tempfile.TemporaryDirectory(prefix="proctor-sub-")
    root = Path(tmp.name)
    try:
        with zf:
            _extract(zf, root, path.name)
    except IntakeError:
        tmp.cleanup()
        raise
    except Exception as exc:  # BadZipFile (bad CRC), zlib.error, EOFError, encrypted entries...
        tmp.cleanup()
        raise IntakeError(f"{path.name}: unreadable zip entry "
                          f"({type(exc).__name__}: {exc})") from None
    # A zip made by zipping the bundle folder has one top-level dir; accept both shapes.
    entries = [p for p in root.iterdir() if p.name not in JUNK]
    if len(entries) == 1 and entries[0].is_dir() and not (root / "notebooks").exists():
        root = entries[0]
    return Submission(path.stem, digest, root, [], {}, tmp)


def _extract(zf: zipfile.ZipFile, root: Path, label: str) -> None:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise IntakeError(f"{label}: {len(infos)} entries exceeds the cap of {MAX_ENTRIES}")
    total = 0
    for info in infos:
        rel = _safe_member_path(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise IntakeError(f"{label}: entry {info.filename!r} is a symlink")
        # No file-type bits (e.g. ZipFile.writestr("name", ...)) means a plain file.
        if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
            raise IntakeError(f"{label}: entry {info.filename!r} is not a regular file")
        if info.is_dir():
            continue
        if info.file_size > MAX_FILE_BYTES:
            raise IntakeError(f"{label}: entry {info.filename!r} is {info.file_size} bytes "
                              f"(cap {MAX_FILE_BYTES})")
        if info.compress_size and info.file_size / info.compress_size > MAX_RATIO:
            raise IntakeError(f"{label}: entry {info.filename!r} has compression ratio "
                              f"{info.file_size / info.compress_size:.0f} (zip bomb?)")
        total += info.file_size
        if total > MAX_TOTAL_BYTES:
            raise IntakeError(f"{label}: more than {MAX_TOTAL_BYTES} bytes uncompressed")
        dest = root.joinpath(*rel.parts)
        dest.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as src, open(dest, "wb") as out:
            while chunk := src.read(1 << 20):
                written += len(chunk)
                if written > info.file_size:  # the header lied about the size
                    raise IntakeError(f"{label}: entry {info.filename!r} is larger than declared")
                out.write(chunk)
