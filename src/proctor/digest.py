"""Content hashes of files and folders: the submission's identity in report.json, and the
key of calibration's build cache."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path


def tree_sha256(root: Path, keep: Callable[[Path], bool] = lambda p: True) -> str:
    """A folder's hash: every regular file (symlinks skipped) by relative path and content,
    in sorted order, so that the same tree hashes the same on any machine."""
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        if p.is_file() and not p.is_symlink() and keep(p):
            h.update(str(p.relative_to(root)).encode() + b"\0")
            h.update(hashlib.sha256(p.read_bytes()).digest())
    return h.hexdigest()
