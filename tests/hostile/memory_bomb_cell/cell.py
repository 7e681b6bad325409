"""Attack: fill 10 GiB of shared anonymous memory in a cell (shared mappings are not
counted by RLIMIT_DATA, so only the kernel's memory accounting can stop this).
This submission also has a correct connected_components notebook.
Expect: the worker is killed at the memory limit; every box_ops check is an error
naming the memory limit; connected_components is still graded, full marks."""
import mmap

print("HOSTILE memory_bomb_cell: filling 10 GiB", flush=True)
m = mmap.mmap(-1, 10 << 30)
chunk = b"\1" * (64 << 20)
for _ in range(160):
    m.write(chunk)
print("HOSTILE ESCAPED: wrote 10 GiB without being stopped", flush=True)
