"""Attack: survive the grader: a double-forked, setsid daemon (Python) and a
shell loop in its own session, both ignoring SIGTERM/SIGHUP/SIGINT, each
carrying a marker in its command line and ticking a log every 50 ms.
Expect: both run (as an unprivileged uid), and none is alive after grading."""
import os
import subprocess
import sys
import time

MARK = "@@MARK@@"
DAEMON = """
import signal, time
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGUSR1):
    signal.signal(s, signal.SIG_IGN)
while True:
    for path in ("/scratch/daemon.log", "@@MARKERS@@/daemon-alive", "/tmp/@@MARK@@-daemon"):
        try:
            with open(path, "a") as f:
                f.write("tick\\n")
        except OSError:
            pass
    time.sleep(0.05)
"""

pid = os.fork()
if pid == 0:  # child: new session, fork again and exit, so the grandchild is orphaned
    try:
        os.setsid()
        if os.fork() == 0:
            devnull = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(devnull, fd)
            os.execv(sys.executable, [sys.executable, "-c", DAEMON, MARK + "-daemon-py"])
    finally:
        os._exit(0)
os.waitpid(pid, 0)

subprocess.Popen(
    ["/bin/sh", "-c", "trap '' TERM HUP INT; while :; do sleep 0.05; done", MARK + "-daemon-sh"],
    start_new_session=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
    stderr=subprocess.DEVNULL)

time.sleep(0.5)
try:
    with open("/scratch/daemon.log") as f:
        ticks = len(f.readlines())
except OSError:
    ticks = 0
print(f"HOSTILE daemon: started, {ticks} ticks so far", flush=True)
