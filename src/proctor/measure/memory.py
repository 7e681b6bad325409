"""Memory budgets: the worker's peak memory during the checked calls, side by side.

For each side (candidate, then reference, identically): one warm-up call (imports,
caches, lazy initialisation are not the function's memory), then the peak is reset,
the baseline read, ``calls`` calls made on fresh inputs (the same inputs for both
sides, outputs checked against the reference's), and the peak read again.  The
function's memory is ``peak - baseline``.

Peak, as the kernel accounts it, read by the grader:

* ``cgroup``: the sandbox's per-worker memory cgroup, where its peak can be reset
  (``SandboxedProcess.reset_peak_memory()``: v1 ``memory.max_usage_in_bytes``; v2
  ``memory.peak`` on Linux >= 6.12): every process of the tree, exited children
  included; counts anonymous memory, page cache and tmpfs files.
* ``proc``: the sum over the live process tree of ``VmHWM`` (peak RSS), reset by
  writing 5 to ``/proc/<pid>/clear_refs``.  A child that allocates and exits between
  two readings is not seen (the cgroup mode sees it).

Budgets: ``unit = "x reference"`` compares the increments as a ratio (with a 1 MiB
allowance for allocator and page granularity); ``MiB``/``MB``/``KiB``/``GiB``/``bytes``
bound the candidate's increment absolutely.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from proctor.library.spec import Budget
from proctor.measure.compare import has_handle, same_result
from proctor.measure.cpuclock import process_tree
from proctor.procfs import read
from proctor.units import BYTE_UNITS
from proctor.verdicts import Outcome
from proctor.worker.client import WorkerClient

SLACK_BYTES = 1 << 20
_RATIO_UNITS = ("x reference", "x", "ratio")


def _status_kb(pid: int, key: str) -> int:
    text = read(f"/proc/{pid}/status") or ""
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


class PeakMeter:
    """Resettable peak memory of one worker's process tree."""

    def __init__(self, client: WorkerClient, source: str = "auto") -> None:
        self.client = client
        self.proc = client.proc
        self._cgroup = False
        if source in ("auto", "cgroup"):
            # a trial reset: harmless, as reset() resets again before the baseline
            reset = getattr(self.proc, "reset_peak_memory", None)
            self._cgroup = reset is not None and reset() is not None
            if not self._cgroup and source == "cgroup":
                raise ValueError("no resettable memory cgroup for this worker")
        self.source = "cgroup" if self._cgroup else "proc"

    def _pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def reset(self) -> int:
        """Reset the peak to the current usage; returns the current usage (baseline)."""
        if self._cgroup:
            usage = self.proc.reset_peak_memory()
            if usage is None:
                raise OSError("the worker's memory cgroup can no longer be reset")
            return usage
        total = 0
        for pid in self._pids():
            try:
                with open(f"/proc/{pid}/clear_refs", "w") as f:
                    f.write("5")
            except OSError:
                pass  # peak since start: can only make this process look bigger
            total += _status_kb(pid, "VmRSS") << 10
        return total

    def peak(self) -> int:
        if self._cgroup:
            return self.proc.peak_memory_bytes() or 0
        return sum(_status_kb(pid, "VmHWM") << 10 for pid in self._pids())


def _side(client: WorkerClient, function: str, inputs: list, timeout: float,
          source: str) -> tuple[int, list, str]:
    meter = PeakMeter(client, source)
    client.request({"op": "call", "target": function, "args": list(inputs[0])}, timeout,
                   where=function)                         # warm-up, not counted
    # a tiny request makes the worker drop the warm-up's message and result
    client.request({"op": "has", "names": [function]}, timeout)
    baseline = meter.reset()
    outs = []
    for args in inputs[1:]:
        outs.append(client.request({"op": "call", "target": function, "args": list(args)},
                                   timeout, where=function))
    return max(meter.peak() - baseline, 0), outs, meter.source


def memory_use(
    candidate: WorkerClient,
    reference: WorkerClient,
    function: str,
    make_args: Callable[[np.random.Generator], tuple],
    rng: np.random.Generator,
    budget: Budget,
    compare: Callable[[Any, Any], None] | None = None,
    calls: int = 3,
    call_timeout: float = 30.0,
    source: str = "auto",
) -> Outcome:
    """Peak memory of ``function`` over ``calls`` fresh inputs, judged against ``budget``."""
    compare = compare or same_result
    unit = budget.unit.strip().lower()
    ratio_budget = unit in _RATIO_UNITS
    if not ratio_budget and unit not in BYTE_UNITS:
        raise ValueError(f"memory budget unit {budget.unit!r}: use 'x reference' or one of "
                         f"{sorted(BYTE_UNITS)}")
    if budget.max is None:
        raise ValueError("a memory budget needs 'max'")
    started = time.monotonic()
    inputs = [make_args(rng) for _ in range(calls + 1)]
    cand_bytes, cand_out, src = _side(candidate, function, inputs, call_timeout, source)
    ref_bytes, ref_out, ref_src = _side(reference, function, inputs, call_timeout,
                                        src if source == "auto" else source)
    for i, (got, want) in enumerate(zip(cand_out, ref_out, strict=True)):
        if has_handle(got) and not has_handle(want):
            raise AssertionError(f"{function} returned an object that is not plain data "
                                 f"(call {i + 1}); results must be computed when returned")
        try:
            compare(got, want)
        except AssertionError as exc:
            raise AssertionError(f"{function} returned a wrong result while its memory was "
                                 f"measured (call {i + 1}): {exc}") from None
    mib = 1 << 20
    measured: dict[str, Any] = {
        "candidate_mib": round(cand_bytes / mib, 3),
        "reference_mib": round(ref_bytes / mib, 3),
        "calls": calls,
        "source": src if src == ref_src else f"{src}/{ref_src}",
        "seconds": round(time.monotonic() - started, 2),
    }
    if ratio_budget:
        ratio = (cand_bytes + SLACK_BYTES) / (ref_bytes + SLACK_BYTES)
        measured["ratio"] = round(ratio, 4)
        ok = ratio <= budget.max
        what = (f"{function} used {cand_bytes / mib:.1f} MiB at peak vs the reference's "
                f"{ref_bytes / mib:.1f} MiB ({ratio:.2f}x with a 1 MiB allowance)")
        limit = f"the {budget.max:g}x budget"
    else:
        ok = cand_bytes <= budget.max * BYTE_UNITS[unit]
        what = f"{function} used {cand_bytes / mib:.1f} MiB at peak"
        limit = f"the {budget.max:g} {budget.unit} budget"
    status = "pass" if ok else "fail"
    message = f"{what}, {'within' if ok else 'over'} {limit} ({calls} calls, {src} accounting)"
    return Outcome(status, message, measured, budget.as_dict())
