"""Attack: start 10,000 threads that sleep forever.
Expect: thread creation is refused at the process limit (a recorded cell error), the
worker keeps answering and every check passes."""
import threading
import time

started = []
try:
    for _ in range(10_000):
        t = threading.Thread(target=time.sleep, args=(3600,), daemon=True)
        t.start()
        started.append(t)
finally:
    print(f"HOSTILE thread_bomb: started {len(started)} threads", flush=True)
