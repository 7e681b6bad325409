"""Attack: kill the grader: SIGKILL the parent, pid 1, the grader and two host
processes the test started (by their host pids), then `kill -9 -1` (everything this
uid may signal).
Expect: nothing outside the sandbox dies (the test's decoy processes live on, the
grader finishes every report); the worker itself survives and every check passes."""
import os
import signal

for target in (os.getppid(), 1, int("@@GRADER_PID@@"), int("@@DECOY_PID@@"),
               int("@@NOBODY_PID@@")):
    try:
        os.kill(target, signal.SIGKILL)
        print(f"HOSTILE kill_parent: SIGKILL sent to {target}", flush=True)
    except OSError as exc:
        print(f"HOSTILE kill_parent: kill {target}: {exc.strerror}", flush=True)
if os.getuid() == 0:  # safety interlock: never do this where it could hurt the host
    print("HOSTILE ESCAPED: running as root, refusing kill -9 -1", flush=True)
else:
    try:
        os.kill(-1, signal.SIGKILL)
        print("HOSTILE kill_parent: kill -9 -1 sent", flush=True)
    except OSError as exc:
        print(f"HOSTILE kill_parent: kill -9 -1: {exc.strerror}", flush=True)
print("HOSTILE kill_parent: still alive", flush=True)
