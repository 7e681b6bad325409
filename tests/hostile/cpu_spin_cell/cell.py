"""Attack: spin forever in a cell (and ignore SIGTERM/SIGINT while doing it).
Expect: every check times out, the message names the notebook time limit."""
import signal

for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
print("HOSTILE cpu_spin_cell: spinning", flush=True)
while True:
    pass
