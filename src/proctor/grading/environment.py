"""The machine a report was graded on: versions, CPU and vector features, the sandbox."""

from __future__ import annotations

import os
import platform
import sys

import proctor
from proctor import sandbox

# The vector features that decide which kernels numpy's BLAS and ONNX Runtime run (and so
# latency ratios and int8 behaviour): x86-64 /proc/cpuinfo "flags", aarch64 "Features".
VECTOR_FEATURES = (
    "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512dq", "avx512cd",
    "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
    "amx_int8", "amx_bf16", "asimd", "asimddp", "sve", "sve2", "i8mm", "bf16",
)


def cpu_info(cpuinfo: str | None = None) -> dict:
    """The CPU the grader runs on: model name and the vector features it has (of
    VECTOR_FEATURES), from /proc/cpuinfo; empty values where it cannot be read."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                cpuinfo = f.read(1 << 20)
        except OSError:
            cpuinfo = ""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    have = set((fields.get("flags") or fields.get("Features") or "").split())
    model = fields.get("model name") or fields.get("Model") or fields.get("Hardware") \
        or platform.processor()
    return {"model": model, "vendor": fields.get("vendor_id", ""),
            "vector_features": [f for f in VECTOR_FEATURES if f in have]}


def environment(unsafe: bool) -> dict:
    iso = sandbox.isolation()
    env = {
        "proctor": proctor.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "cpu": cpu_info(),
        "sandbox": iso,
        "unsafe_no_sandbox": unsafe,
    }
    if unsafe:
        env["warning"] = ("GRADED WITHOUT A SANDBOX: candidate code ran with the grader's "
                          "privileges; results may be forged and the machine may be affected")
    return env


__all__ = ["VECTOR_FEATURES", "cpu_info", "environment"]
