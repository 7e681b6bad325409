"""Attack: a solution 4x slower than the reference that slows the reference down
instead: 8 busy-looping child processes share the pinned core, stopped (SIGSTOP) while
our own nms runs and running (SIGCONT) while the reference is being timed.  With a
wall clock, the reference would get a fraction of the core and the ratio would drop
under the budget.
Expect: nms_latency fails, over budget: each worker is charged the CPU time of its
whole process tree, spinners included, and a neighbour's load does not slow a side."""
# ruff: noqa: F821  (nms comes from the solution cell above)
import os
import signal

_fast_nms = nms
spinners = []
for _ in range(8):
    pid = os.fork()
    if pid == 0:
        while True:
            pass
    spinners.append(pid)


def _signal_all(sig):
    for pid in spinners:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def nms(boxes, scores, iou_threshold):  # honest but 4x the work, with the spinners paused
    _signal_all(signal.SIGSTOP)
    try:
        for _ in range(3):
            _fast_nms(boxes, scores, iou_threshold)
        return _fast_nms(boxes, scores, iou_threshold)
    finally:
        _signal_all(signal.SIGCONT)


print(f"HOSTILE latency_contention: {len(spinners)} spinners on cpu "
      f"{sorted(os.sched_getaffinity(0))}", flush=True)
