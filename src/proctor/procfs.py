"""Reading kernel pseudo-files (/proc, cgroupfs): a vanished process is not an error."""

from __future__ import annotations

import os


def read(path: str) -> str | None:
    """The file's text, or None when it cannot be read (the process or cgroup is gone)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (via /proc/<pid>/task/<tid>/children)."""
    out, todo, seen = [], [root], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        out.append(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            kids = read(f"/proc/{pid}/task/{tid}/children")
            if kids:
                todo.extend(int(k) for k in kids.split())
    return out
