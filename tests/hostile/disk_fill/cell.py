"""Attack: fill the disk: one ever-growing file, then as many files as fit, in each
writable place (/scratch, /tmp, /dev/shm).
Expect: the file size limit and the size-limited tmpfs stop it (EFBIG / ENOSPC), the
worker keeps answering and every check passes; the host's disk is untouched."""
block = b"\0" * (1 << 20)
for where in ("/scratch", "/tmp", "/dev/shm"):
    total, notes = 0, []
    try:  # one file, growing until refused
        with open(f"{where}/big", "wb", buffering=0) as f:
            while total < (4 << 30):
                total += f.write(block)
    except OSError as exc:
        notes.append(f"one file stopped at {total >> 20} MiB: {exc.strerror}")
    i = 0
    try:  # then many files
        while total < (4 << 30):
            with open(f"{where}/fill{i}", "wb", buffering=0) as f:
                for _ in range(16):
                    total += f.write(block)
            i += 1
    except OSError as exc:
        notes.append(f"many files stopped at {total >> 20} MiB: {exc.strerror}")
    print(f"HOSTILE disk_fill {where}: {total >> 20} MiB; " + "; ".join(notes), flush=True)
