"""Reading kernel pseudo-files (/proc, cgroupfs): a vanished process is not an error."""

from __future__ import annotations


def read(path: str) -> str | None:
    """The file's text, or None when it cannot be read (the process or cgroup is gone)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None
