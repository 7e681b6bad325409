"""The worker's timing-mode allocator (proctor.worker.staging.allocator).

In timing mode a function's temporaries must cost the same on every call: a 5 MB one
(vit_attention's attention scores) page-faulted afresh on some calls and not on others,
which made a call 4.6 or 8.5 ms by chance. Run in a fresh interpreter each, since the
mode is the process's glibc state; minor page faults are counted with getrusage."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

PROBE = """
import json, resource, sys
import numpy as np
from proctor.worker import staging

def churn():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    a = np.ones((32, 8, 50, 50))          # 5 MB
    b = np.exp(a - a.max(-1, keepdims=True))
    s = np.ones(300_000)                  # 2.4 MB: a staged input, freed between calls
    float(b.sum() + s.sum())
    del a, b, s
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

if sys.argv[1] == "no-top-pad":
    staging._TOP_PAD = 128 << 10          # the mode as it was
ok = staging.allocator(True)
timing = [churn() for _ in range(30)]
staging.allocator(False)
after = [churn() for _ in range(5)]
print(json.dumps({"ok": ok, "timing": timing, "after": after}))
"""


def _probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True,
                         text=True, timeout=120, check=True)
    return json.loads(out.stdout)


def test_big_temporaries_fault_once_in_timing_mode_and_are_returned_after():
    r = _probe("timing")
    if not r["ok"]:
        pytest.skip("no glibc mallopt here")
    assert max(r["timing"][3:]) < 100, r["timing"]     # 5 MB is 1,280 pages
    assert min(r["after"]) > 1000, r["after"]          # defaults back: memory returned


def test_without_the_top_pad_they_fault_again_on_calls():
    """What the top pad fixes (the check above fails on it)."""
    r = _probe("no-top-pad")
    if not r["ok"]:
        pytest.skip("no glibc mallopt here")
    assert sum(f > 1000 for f in r["timing"][3:]) >= 5, r["timing"]
