"""Per-slot unprivileged uids: one dedicated uid per concurrently running sandbox.

A slot is a flock'ed file under ``STATE_DIR/slots``, so slots are also exclusive
across grader processes. Because nothing else runs as a slot's uid, "every process
of that uid" is exactly the sandbox's tree: that is what the final cleanup kills.
"""

from __future__ import annotations

import fcntl
import os
import signal
import time

UID_BASE = int(os.environ.get("PROCTOR_SANDBOX_UID_BASE", "64000"))
MAX_SLOTS = int(os.environ.get("PROCTOR_SANDBOX_SLOTS", "512"))
STATE_DIR = os.environ.get("PROCTOR_STATE_DIR", "/run/proctor")


def pids_of_uid(uid: int) -> list[int]:
    """Live (non-zombie) host pids whose real or effective uid is ``uid``."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status", "rb") as f:
                data = f.read()
        except OSError:
            continue
        i = data.find(b"\nUid:")
        s = data.find(b"\nState:")
        if i < 0 or (s >= 0 and data[s + 7:s + 12].split()[:1] in ([b"Z"], [b"X"])):
            continue  # zombies run no code; whoever reaps orphans (init) frees them
        fields = data[i + 5:data.find(b"\n", i + 1)].split()
        if fields and (int(fields[0]) == uid or int(fields[1]) == uid):
            out.append(int(name))
    return out


def kill_uid(uid: int, timeout: float = 5.0) -> bool:
    """SIGKILL every process of a *dedicated sandbox* uid until none is left."""
    if uid < UID_BASE or uid == os.getuid() or uid == 0:
        raise ValueError(f"refusing to kill all processes of uid {uid}")
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        pids = pids_of_uid(uid)
        if not pids:
            return True
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.05)


class Slot:
    def __init__(self, n: int, fd: int):
        self.n, self.fd, self.uid = n, fd, UID_BASE + n

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # drops the flock
            self.fd = -1


_rotor = iter(range(1 << 62))


def acquire_slot() -> Slot:
    """Lock a free slot. Slots rotate (rather than lowest-free) so that the zombie of
    a finished sandbox's pid-1, which the host's init reaps at its own pace and which
    still counts towards that uid's RLIMIT_NPROC, is long gone when the uid is reused."""
    d = os.path.join(STATE_DIR, "slots")
    os.makedirs(d, mode=0o700, exist_ok=True)
    start = next(_rotor)
    for i in range(MAX_SLOTS):
        n = (start + i) % MAX_SLOTS
        fd = os.open(os.path.join(d, f"{n}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        slot = Slot(n, fd)
        # leftovers of a grader that crashed while holding this slot
        kill_uid(slot.uid, timeout=2.0)
        return slot
    raise RuntimeError(f"all {MAX_SLOTS} sandbox uid slots are busy")
