"""The bubblewrap side of the sandbox: which binds are allowed, how root-only bind
sources are made reachable, and the bwrap command line itself."""

from __future__ import annotations

import os
import re
import subprocess

RESERVED_DESTS = ("/proc", "/dev", "/scratch", "/tmp", "/etc/passwd", "/etc/group")
MERGED_USR_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


def bwrap_version(path: str) -> tuple[int, ...]:
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True,
                             timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return ()
    m = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", out)
    return tuple(int(x) for x in m.groups() if x is not None) if m else ()


def check_binds(ro_binds: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Validated (host, dest) binds, parents before children; raises on a bind that
    would expose the host root or cover a place the sandbox manages itself."""
    binds = []
    for host, dest in ro_binds:
        host, dest = os.fspath(host), os.fspath(dest)
        if not os.path.isabs(host) or not os.path.isabs(dest):
            raise ValueError(f"bind paths must be absolute: {host!r} -> {dest!r}")
        dest = os.path.normpath(dest)
        if os.path.normpath(host) == "/" or dest == "/":
            raise ValueError("binding the host root (or onto /) is not allowed")
        # Under /tmp is allowed (a checkout or venv may live there): the bind is mounted
        # after the /tmp tmpfs, on a mountpoint created inside it.
        if dest == "/tmp" or any(dest == r or dest.startswith(r + "/")
                                 for r in RESERVED_DESTS if r != "/tmp"):
            raise ValueError(f"{dest} is managed by the sandbox and cannot be bound over")
        if not os.path.exists(host):
            raise FileNotFoundError(f"bind source does not exist: {host}")
        binds.append((host, dest))
    binds.sort(key=lambda b: b[1].count("/"))
    return binds


def stage_binds(binds: list[tuple[str, str]], state_dir: str
                ) -> tuple[bytes, list[tuple[bytes, bytes, bool]], list[str]]:
    """Where each bind source will be staged: (staging dir, [(source, staged path,
    is_dir)], staged paths in bind order).

    bwrap runs as the unprivileged slot uid, which may not reach a source (a pyenv
    under /root, mode 0700). The child, still root, bind-mounts every source onto its
    staged path in a private mount namespace (``child``) and bwrap binds from there."""
    sd = os.path.join(state_dir, "stage")
    os.makedirs(sd, mode=0o755, exist_ok=True)
    os.chmod(state_dir, 0o755)
    items, sources = [], []
    for i, (host, _) in enumerate(binds):
        s = os.path.join(sd, str(i))
        items.append((os.fsencode(host), os.fsencode(s), os.path.isdir(host)))
        sources.append(s)
    return os.fsencode(sd), items, sources


def data_fd(data: bytes) -> int:
    """A pipe's read end holding ``data``, for bwrap's ``--*-data FD`` options."""
    r, w = os.pipe()
    try:
        os.write(w, data)  # small: fits in the pipe buffer
    finally:
        os.close(w)
    return r


def identity_fds(uid: int) -> tuple[int, int]:
    """fds of a synthetic /etc/passwd and /etc/group naming ``uid`` "sandbox"."""
    passwd_fd = data_fd(
        f"root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"sandbox:x:{uid}:{uid}:sandbox:/scratch:/usr/sbin/nologin\n"
        f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n".encode())
    group_fd = data_fd(f"root:x:0:\nsandbox:x:{uid}:\nnogroup:x:65534:\n".encode())
    return passwd_fd, group_fd


def bwrap_args(bwrap: str, ver: tuple, argv: list[str], *, binds: list[tuple[str, str]],
               sources: list[str], env: dict[str, str], cwd: str, scratch_bytes: int,
               seccomp_fd: int | None, passwd_fd: int, group_fd: int) -> list[str]:
    """The bwrap command line running ``argv``; ``sources[i]`` is where ``binds[i]`` is
    read from (the host path, or its staged copy)."""
    size = ["--size", str(scratch_bytes)] if ver >= (0, 7) else []
    a = [bwrap, "--unshare-all", "--unshare-user"]
    if ver >= (0, 8):
        a.append("--disable-userns")
    a += ["--die-with-parent", "--new-session", "--cap-drop", "ALL",
          "--hostname", "sandbox",
          "--proc", "/proc", "--dev", "/dev",
          *size, "--tmpfs", "/dev/shm",
          *size, "--tmpfs", "/scratch",
          *size, "--tmpfs", "/tmp"]
    dests = [d for _, d in binds]
    made: set[str] = {"/tmp"}  # the tmpfs above; binds may be mounted inside it
    for (_host, dest), src in zip(binds, sources, strict=True):
        parent = os.path.dirname(dest)
        chain = []
        while parent not in ("/", "") and parent not in made:
            if any(parent == d or parent.startswith(d + "/") for d in dests):
                break  # inside another bind: must already exist there
            chain.append(parent)
            parent = os.path.dirname(parent)
        for p in reversed(chain):
            a += ["--perms", "0755", "--dir", p]
            made.add(p)
        a += ["--ro-bind", src, dest]
    # merged-/usr: /lib -> usr/lib etc., when the target is visible
    for name in MERGED_USR_DIRS:
        if name in dests or not os.path.islink(name):
            continue
        real = os.path.realpath(name)
        if any(real == h or real.startswith(h.rstrip("/") + "/")
               for h, d in binds if h == d):
            a += ["--symlink", os.readlink(name), name]
    a += ["--perms", "0644", "--ro-bind-data", str(passwd_fd), "/etc/passwd",
          "--perms", "0644", "--ro-bind-data", str(group_fd), "/etc/group",
          "--remount-ro", "/dev", "--remount-ro", "/",
          "--chdir", cwd, "--clearenv"]
    for k, v in env.items():
        if "=" in k or not k:
            raise ValueError(f"bad environment variable name {k!r}")
        a += ["--setenv", k, v]
    if seccomp_fd is not None:
        a += ["--seccomp", str(seccomp_fd)]
    a += ["--", *argv]
    return a
