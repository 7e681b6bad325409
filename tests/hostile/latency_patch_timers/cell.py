# base: quadratic_python
"""Attack: an O(n^2) pure-Python nms (the rejected quadratic solution) that freezes
every clock in its process (time.perf_counter, time.time, time.monotonic, their _ns
variants, process/thread time), in the time module and wherever a loaded module
imported them by name.
Expect: nms_latency fails, over budget: only the grader's clock counts."""
import sys
import time

FROZEN = 1000.0
CLOCKS = ("perf_counter", "time", "monotonic", "process_time", "thread_time")
originals = {id(getattr(time, n)): n for n in CLOCKS + tuple(n + "_ns" for n in CLOCKS)}


def frozen():
    return FROZEN


def frozen_ns():
    return int(FROZEN * 1e9)


for name in CLOCKS:
    setattr(time, name, frozen)
    setattr(time, name + "_ns", frozen_ns)
patched = 0
for module in list(sys.modules.values()):
    for attr, value in list(getattr(module, "__dict__", {}).items()):
        if id(value) in originals:
            setattr(module, attr, frozen_ns if attr.endswith("_ns") else frozen)
            patched += 1
print(f"HOSTILE latency_patch_timers: clocks frozen ({patched} imported names patched), "
      f"time.perf_counter() = {time.perf_counter()}", flush=True)
