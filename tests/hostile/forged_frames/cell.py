"""Attack: write directly to the worker's reply pipe (its fd number is in sys.argv):
a forged 'done', a forged answer, then a frame that is not msgpack, then a header
announcing a 1 TiB frame.
Expect: the grader stops trusting the channel: checks are errors or failures with a
readable reason, never passes built on forged replies; grading carries on."""
import os
import struct
import sys

import msgpack

fd = int(sys.argv[2])


def frame(payload):
    os.write(fd, struct.pack("<Q", len(payload)) + payload)


frame(msgpack.packb({"done": True}))
frame(msgpack.packb({"ok": [[1.0, 0.0, 0.0], [1 / 7, 1 / 7, 0.0]]}))
frame(b"\xc1\xc1\xc1")
os.write(fd, struct.pack("<Q", 1 << 40))
print("HOSTILE forged_frames: forged", flush=True)
