"""Attack: end the worker from a cell with os._exit(0) (no exception, no cleanup).
Expect: every check is an error whose message says the worker exited (code 0)."""
import os

print("HOSTILE early_exit_cell: exiting", flush=True)
os._exit(0)
