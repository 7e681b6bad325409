"""Attack: a fork bomb: every process forks until fork fails; the children then hold
their process slots forever (ignoring SIGTERM) while the notebook goes on.
Expect: fork is refused at the process limit, the worker keeps answering, every
check passes, no more processes than the limit ever exist, and none survives."""
import os
import signal
import time

top = os.getpid()
forks, error = 0, None
while True:
    try:
        pid = os.fork()
    except OSError as exc:
        error = exc
        break
    if pid == 0:  # the child joins the bomb
        forks = 0
        continue
    forks += 1
if os.getpid() != top:  # a bomb child that can no longer fork: hold the slot
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in range(0, 256):
        if fd != devnull:
            try:
                os.close(fd)  # let go of the worker's pipes
            except OSError:
                pass
    while True:
        time.sleep(3600)
print(f"HOSTILE fork_bomb: fork refused after {forks} forks: {error}", flush=True)
