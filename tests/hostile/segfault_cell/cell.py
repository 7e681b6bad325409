"""Attack: crash the interpreter from a cell (ctypes NULL dereference: SIGSEGV).
Expect: every check is an error naming SIGSEGV."""
import ctypes

print("HOSTILE segfault_cell: dereferencing NULL", flush=True)
ctypes.string_at(0)
