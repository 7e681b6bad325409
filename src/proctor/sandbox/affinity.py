"""Moving a running sandbox's whole tree to other cores (``SandboxedProcess.pin``).

A worker may start on other cores than the one it is timed on (its notebook loads off
the timing core, while a latency measurement may hold it) and is moved there before its
checks run. The cgroup's cpuset, when there is one, moves every task at once and keeps
any of them from widening its affinity again; every live thread's affinity is set too
(the only mechanism without a cpuset, as when a worker starts pinned).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from proctor.procfs import process_tree


def tree_tids(root: int) -> list[int]:
    """Every thread of ``root`` and of all its descendants, from /proc."""
    out = []
    for pid in process_tree(root):
        try:
            out += [int(t) for t in os.listdir(f"/proc/{pid}/task")]
        except OSError:
            continue
    return out


def confine(list_tids: Callable[[], list[int]], cores: set[int], rounds: int = 3) -> None:
    """Set the affinity of every thread ``list_tids()`` names to ``cores``; listed again
    until no new thread shows up (one started meanwhile inherits its creator's affinity,
    which may have been set before or after), at most ``rounds`` times."""
    done: set[int] = set()
    for _ in range(rounds):
        todo = [t for t in list_tids() if t not in done]
        if not todo:
            return
        for tid in todo:
            try:
                os.sched_setaffinity(tid, cores)
            except OSError:
                pass   # exited meanwhile
            done.add(tid)
