"""Attack: change files outside the scratch dir: the submission itself, the engine,
the venv (a .pth file would run in the grader), hidden graders, the output dir, the
host's /tmp; chmod/utime/unlink/rename, mknod, mount, setuid(0).
Expect: every host-visible change blocked; the test sees every file unchanged."""
import ctypes
import os
import stat
import sysconfig

import numpy as np


def _escaped(what):
    global box_iou
    print("HOSTILE ESCAPED:", what, flush=True)
    box_iou = lambda a, b: np.full((len(a), len(b)), 0.5)  # noqa: E731


def create(path):
    with open(path, "x") as f:
        f.write("HOSTILE\n")


def create_in_repo(path):
    create(path)
    if path.startswith("/tmp/"):  # a checkout under /tmp: the sandbox's own tmpfs took it
        os.unlink(path)
        raise PermissionError("landed in the sandbox's private /tmp tmpfs, not on the host")


def open_for_append(path):  # proves write access without changing a byte
    os.close(os.open(path, os.O_WRONLY | os.O_APPEND))


def mount_tmpfs():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.mount(b"none", b"@@REPO@@/src", b"tmpfs", 0, None) != 0:
        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))


site = sysconfig.get_paths()["purelib"]
attempts = {
    "append own notebook": lambda: open_for_append("@@SUB@@/notebooks/box_ops.ipynb"),
    "create in submission": lambda: create("@@SUB@@/evil-@@MARK@@.txt"),
    "rename own notebook": lambda: os.rename("@@SUB@@/notebooks/box_ops.ipynb",
                                             "@@SUB@@/notebooks/moved.ipynb"),
    "chmod own notebook": lambda: os.chmod("@@SUB@@/notebooks/box_ops.ipynb", 0o777),
    "create in repo": lambda: create_in_repo("@@REPO@@/evil-@@MARK@@.txt"),
    "create engine module": lambda: create("@@REPO@@/src/proctor/evil_@@MARK@@.py"),
    "append engine file": lambda: open_for_append("@@REPO@@/src/proctor/__init__.py"),
    "utime engine file": lambda: os.utime("@@REPO@@/src/proctor/__init__.py", (0, 0)),
    "venv .pth": lambda: create(f"{site}/evil-@@MARK@@.pth"),
    "venv sitecustomize": lambda: create(f"{site}/sitecustomize.py"),
    "grader seed": lambda: open_for_append("@@LIB@@/graders/box_ops/seed.txt"),
    "unlink library prompt": lambda: os.unlink("@@LIB@@/exercises/box_ops/prompt.md"),
    "create in output dir": lambda: create("@@OUT@@/evil-@@MARK@@.txt"),
    "create in marker dir": lambda: create("@@MARKERS@@/tamper"),
    "mknod /dev/null twin": lambda: os.mknod("/scratch/null", 0o666 | stat.S_IFCHR,
                                            os.makedev(1, 3)),
    "mount over the engine": mount_tmpfs,
    "setuid(0)": lambda: os.setuid(0),
    "chroot": lambda: os.chroot("/scratch"),
}
for name, attempt in attempts.items():
    try:
        attempt()
    except Exception as exc:  # noqa: BLE001
        print(f"HOSTILE tamper {name}: blocked ({type(exc).__name__}: {exc})", flush=True)
    else:
        _escaped(f"tamper {name}")

# The private /tmp and /scratch are writable: the test checks the host's /tmp did not
# get this file.
create("/tmp/@@MARK@@-tamper")
create("/scratch/@@MARK@@-tamper")
print("HOSTILE tamper: done", flush=True)
