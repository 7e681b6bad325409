"""Attack: raise KeyboardInterrupt (and GeneratorExit) in a cell, as an interrupted
training loop would.
Expect: recorded as a cell error like any other exception; the following cells still
run and every check passes."""
print("HOSTILE keyboard_interrupt_cell: raising", flush=True)
raise KeyboardInterrupt("stopped by hand")
