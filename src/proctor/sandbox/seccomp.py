"""A small seccomp-BPF deny-list for the sandbox, hand-assembled (no libseccomp needed).

bubblewrap loads it with ``--seccomp FD`` just before it execs the worker, so it
applies to the worker and everything it starts. It is defence in depth on top of
the namespaces, the unprivileged uid and no_new_privs: it removes kernel attack
surface that an ML worker never needs.

Denied (errno, never a kill, so well-behaved libraries degrade gracefully):

* debugging / other processes' memory: ptrace, process_vm_readv/writev, kcmp, pidfd_getfd
* mounts and namespaces: mount, umount2, pivot_root, chroot, unshare, setns, the new
  mount API (fsopen, fsmount, move_mount, open_tree, ...), clone/clone3 with any
  CLONE_NEW* flag (clone3 returns ENOSYS so glibc falls back to clone, whose flags
  we can inspect)
* bpf, perf_event_open, userfaultfd, io_uring_*, keyctl/add_key/request_key
* kernel modules, kexec, reboot, swap, acct, quotactl, syslog, clock setting,
  open_by_handle_at, iopl/ioperm
* sockets of any family but AF_UNIX (socket and socketpair): EAFNOSUPPORT
* the whole x32 ABI (syscall numbers with bit 30 set) and any non-x86_64 arch
  (kill: a 32-bit int 0x80 syscall would bypass a number-based filter)

Only x86_64 is supported; elsewhere ``build_filter()`` returns None and the sandbox
runs without seccomp (``isolation()["seccomp"]`` is then False).
"""

from __future__ import annotations

import platform
import struct

AUDIT_ARCH_X86_64 = 0xC000003E

# x86_64 syscall numbers (arch/x86/entry/syscalls/syscall_64.tbl)
X86_64_DENY: dict[str, int] = {
    "ptrace": 101,
    "syslog": 103,
    "uselib": 134,
    "vhangup": 153,
    "pivot_root": 155,
    "_sysctl": 156,
    "adjtimex": 159,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "iopl": 172,
    "ioperm": 173,
    "create_module": 174,
    "init_module": 175,
    "delete_module": 176,
    "get_kernel_syms": 177,
    "query_module": 178,
    "quotactl": 179,
    "nfsservctl": 180,
    "lookup_dcookie": 212,
    "clock_settime": 227,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "unshare": 272,
    "perf_event_open": 298,
    "fanotify_init": 300,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "kcmp": 312,
    "finit_module": 313,
    "kexec_file_load": 320,
    "bpf": 321,
    "userfaultfd": 323,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_getfd": 438,
    "mount_setattr": 442,
}
NR_SOCKET = 41
NR_SOCKETPAIR = 53
NR_CLONE = 56
NR_CLONE3 = 435

AF_UNIX = 1
EPERM = 1
ENOSYS = 38
EAFNOSUPPORT = 97
# CLONE_NEWTIME | CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC
# | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET
CLONE_NS_FLAGS = 0x00000080 | 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 \
    | 0x10000000 | 0x20000000 | 0x40000000

# classic BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

RET_ALLOW = 0x7FFF0000
RET_KILL_PROCESS = 0x80000000
RET_ERRNO = 0x00050000

# offsets in struct seccomp_data {int nr; u32 arch; u64 ip; u64 args[6];}
_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARG0_LO = 16  # little endian: low 32 bits of args[0]


def _assemble(prog: list[tuple]) -> bytes:
    """prog: items are ("label", name) or (code, jt, jf, k) where jt/jf may be label names."""
    labels: dict[str, int] = {}
    insns: list[tuple] = []
    for item in prog:
        if item[0] == "label":
            labels[item[1]] = len(insns)
        else:
            insns.append(item)
    out = bytearray()
    for i, (code, jt, jf, k) in enumerate(insns):
        def rel(target, i=i):
            if isinstance(target, str):
                off = labels[target] - (i + 1)
                if not 0 <= off <= 255:
                    raise ValueError(f"BPF jump out of range: {target} ({off})")
                return off
            return target
        out += struct.pack("<HBBI", code, rel(jt), rel(jf), k)
    return bytes(out)


def build_filter() -> bytes | None:
    """The raw ``struct sock_filter[]`` for bwrap ``--seccomp``, or None if unsupported."""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    p: list[tuple] = [
        (_LD_W_ABS, 0, 0, _OFF_ARCH),
        (_JEQ_K, 0, "kill", AUDIT_ARCH_X86_64),
        (_LD_W_ABS, 0, 0, _OFF_NR),
        (_JGE_K, "kill", 0, 0x40000000),  # x32 ABI
    ]
    for nr in sorted(X86_64_DENY.values()):
        p.append((_JEQ_K, "eperm", 0, nr))
    p += [
        (_JEQ_K, "sock", 0, NR_SOCKET),
        (_JEQ_K, "sock", 0, NR_SOCKETPAIR),
        (_JEQ_K, "clone", 0, NR_CLONE),
        (_JEQ_K, "enosys", 0, NR_CLONE3),
        (_RET_K, 0, 0, RET_ALLOW),
        ("label", "sock"),
        (_LD_W_ABS, 0, 0, _OFF_ARG0_LO),
        (_JEQ_K, 0, 1, AF_UNIX),
        (_RET_K, 0, 0, RET_ALLOW),
        (_RET_K, 0, 0, RET_ERRNO | EAFNOSUPPORT),
        ("label", "clone"),
        (_LD_W_ABS, 0, 0, _OFF_ARG0_LO),
        (_JSET_K, "eperm", 0, CLONE_NS_FLAGS),
        (_RET_K, 0, 0, RET_ALLOW),
        ("label", "eperm"),
        (_RET_K, 0, 0, RET_ERRNO | EPERM),
        ("label", "enosys"),
        (_RET_K, 0, 0, RET_ERRNO | ENOSYS),
        ("label", "kill"),
        (_RET_K, 0, 0, RET_KILL_PROCESS),
    ]
    return _assemble(p)
