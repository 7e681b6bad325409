"""Byte units of budgets, one table for every budget kind: SI (kB, MB, GB) are powers of
1000 and IEC (KiB, MiB, GiB) powers of 1024, as everywhere else. Keys are lower case."""

from __future__ import annotations

BYTE_UNITS: dict[str, int] = {
    "b": 1, "byte": 1, "bytes": 1,
    "kb": 1000, "mb": 1000**2, "gb": 1000**3,
    "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30,
}
