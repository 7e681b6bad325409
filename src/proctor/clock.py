"""The wall clock of a candidate's session and of the submissions it makes.

``now()`` is ``time.time()`` unless ``PROCTOR_CLOCK_FILE`` names a file holding epoch
seconds: tests drive a whole container session with it (start, deadline, restart)
without waiting.  The candidate's container is theirs, so nothing read from this clock
is evidence of anything: submissions record it as the candidate's claim, and the grader
adds what it knows itself (when the file reached it).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime

ENV = "PROCTOR_CLOCK_FILE"


def now() -> float:
    """Epoch seconds: the real clock, or the one in ``$PROCTOR_CLOCK_FILE`` when set."""
    path = os.environ.get(ENV)
    if path:
        try:
            with open(path) as f:
                return float(f.read().strip())
        except (OSError, ValueError):
            pass  # a clock file being rewritten: the real time rather than a crash
    return time.time()


def iso(ts: float) -> str:
    """UTC, to the second: what manifests and reports print."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")
