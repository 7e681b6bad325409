"""Attack: flood stdout and stderr with 2 GiB, half through print, half through raw
writes to the file descriptors.
Expect: grading carries on (every check passes) and the report keeps only a capped
excerpt of the output."""
import os
import sys

line = "HOSTILE-FLOOD " * 4681 + "\n"  # ~64 KiB
for _ in range(16384):
    sys.stdout.write(line)
sys.stdout.flush()
raw = b"x" * (1 << 20)
for i in range(1024):
    os.write(2 if i % 2 else 1, raw)
print("HOSTILE stdout_flood: wrote 2 GiB", flush=True)
