"""Attack: ignore and block every catchable signal, then hang inside one call:
box_iou spins forever on the input of the public check iou_basic (2 x 3 boxes).
Expect: iou_basic times out (message names the call timeout); the worker is killed
anyway and replaced, so every other check passes."""
# ruff: noqa: F821  (box_iou, nms, batched_nms come from the solution cell above)
import signal

IGNORED = [signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,
           signal.SIGUSR2, signal.SIGALRM, signal.SIGXCPU, signal.SIGPIPE]
for s in IGNORED:
    signal.signal(s, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})

_real_iou = box_iou


def box_iou(boxes1, boxes2):
    if len(boxes1) == 2 and len(boxes2) == 3:
        while True:
            pass
    return _real_iou(boxes1, boxes2)


print("HOSTILE spin_call_ignore_signals: signals ignored and blocked", flush=True)
