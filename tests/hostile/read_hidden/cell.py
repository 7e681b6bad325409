"""Attack: read what the grader hides: graders/ and their seeds, reference solutions,
another submission, the output dir, a secret planted outside, the grader's and other
host processes' environments and views (/proc/<pid>/environ, /root, /cwd), inherited
file descriptors.
Expect: nothing readable, every correctness check passes, no 'HOSTILE ESCAPED'."""
import glob
import os

import numpy as np


def _escaped(what):
    """Something got out: say so, and make box_iou wrong so that the grade shows it."""
    global box_iou
    print("HOSTILE ESCAPED:", what, flush=True)
    box_iou = lambda a, b: np.full((len(a), len(b)), 0.5)  # noqa: E731


hidden_files = [
    "@@REPO@@/graders/box_ops/checks.py",
    "@@REPO@@/graders/box_ops/seed.txt",
    "@@REPO@@/graders/connected_components/seed.txt",
    "@@REPO@@/reference_solutions/box_ops/accepted/reference.py",
    "@@LIB@@/graders/box_ops/checks.py",
    "@@LIB@@/graders/box_ops/seed.txt",
    "@@LIB@@/reference_solutions/box_ops/accepted/reference.py",
    "@@OTHER@@/notebooks/box_ops.ipynb",
    "@@SECRET@@",
    "/proc/1/root@@SECRET@@",
    "/proc/@@DECOY_PID@@/root@@SECRET@@",
    "/proc/@@DECOY_PID@@/environ",
    "/proc/@@DECOY_PID@@/cmdline",
    "/proc/@@GRADER_PID@@/environ",
    "/proc/@@GRADER_PID@@/root@@SECRET@@",
    "/proc/@@GRADER_PID@@/cwd/graders/box_ops/seed.txt",
    "/etc/shadow",
    "/root/.bash_history",
    "/root/.ssh/id_rsa",
]
for pattern in ("@@REPO@@/graders/*/*", "@@LIB@@/graders/*/*", "@@OUT@@/*/report.json",
                "@@REPO@@/reference_solutions/*/*/*", "/tmp/proctor-sub-*/*/*",
                "/run/proctor/*"):
    hidden_files += glob.glob(pattern)
hidden_dirs = ["@@REPO@@/graders", "@@REPO@@/reference_solutions", "@@LIB@@", "@@OUT@@",
               "@@OTHER@@", "@@SUB@@", "@@MARKERS@@", "/run/proctor", "/home"]

for path in hidden_files:
    try:
        with open(path, "rb") as f:
            _escaped(f"read {path}: {f.read(300)!r}")
    except OSError:
        pass
for path in hidden_dirs:
    try:
        _escaped(f"listed {path}: {sorted(os.listdir(path))[:20]}")
    except OSError:
        pass

# The environment: our own, and that of every process we can see.  Printed whole, so
# that a secret anywhere in it would show up in the report (the test greps for it).
print("HOSTILE env os.environ:", dict(os.environ), flush=True)
for path in glob.glob("/proc/[0-9]*/environ"):
    try:
        with open(path, "rb") as f:
            print(f"HOSTILE env {path}:", f.read(4000), flush=True)
    except OSError:
        pass
if any("SECRET" in k or "TOKEN" in k or "KEY" in k for k in os.environ):
    _escaped(f"secret-looking variables: {sorted(os.environ)}")

# Inherited descriptors: only our pipes and /dev/null should be there.
for fd in os.listdir("/proc/self/fd"):
    try:
        where = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue
    if where.startswith("/") and not where.startswith(("/dev/null", "/proc/", "/scratch")):
        _escaped(f"inherited fd {fd} -> {where}")

# Anything that looks hidden anywhere in the visible filesystem (the big read-only
# runtime trees are skipped to keep this fast).
skip = ("/proc", "/sys", "/usr", "/dev", "@@REPO@@/.venv")
for top, dirs, files in os.walk("/"):
    dirs[:] = [d for d in dirs if not os.path.join(top, d).startswith(skip)]
    for name in files:
        path = os.path.join(top, name)
        if name in ("seed.txt", "report.json", "secret.txt") or "reference_solutions" in path \
                or "/graders/" in path:
            _escaped(f"found {path}")

print(f"HOSTILE read_hidden: done, {len(hidden_files)} files and {len(hidden_dirs)} dirs "
      "tried", flush=True)
