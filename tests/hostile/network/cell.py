"""Attack: talk to the outside: TCP to a listener the test runs on the host's
127.0.0.1 (and ::1), TCP to a public resolver, UDP sendto, DNS resolution, connect
to a unix socket in the host's /tmp and to an abstract unix socket, a raw socket.
Expect: every attempt blocked; the test's listeners receive nothing."""
import socket

import numpy as np


def _escaped(what):
    global box_iou
    print("HOSTILE ESCAPED:", what, flush=True)
    box_iou = lambda a, b: np.full((len(a), len(b)), 0.5)  # noqa: E731


def tcp(host, port, family=socket.AF_INET):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect((host, port))
    s.sendall(b"HOSTILE-TCP")
    return "connected"


def udp(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return s.sendto(b"HOSTILE-UDP", (host, port))


def unix(address):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(address)
    s.sendall(b"HOSTILE-UNIX")
    return "connected"


attempts = {
    "tcp 127.0.0.1": lambda: tcp("127.0.0.1", int("@@PORT@@")),
    "tcp ::1": lambda: tcp("::1", int("@@PORT@@"), socket.AF_INET6),
    "tcp 1.1.1.1:53": lambda: tcp("1.1.1.1", 53),
    "udp 127.0.0.1": lambda: udp("127.0.0.1", int("@@UDP_PORT@@")),
    "udp 1.1.1.1:53": lambda: udp("1.1.1.1", 53),
    "dns example.com": lambda: socket.getaddrinfo("example.com", 80),
    "unix @@UNIX@@": lambda: unix("@@UNIX@@"),
    "unix abstract": lambda: unix("\0@@ABSTRACT@@"),
    "raw packet socket": lambda: socket.socket(socket.AF_PACKET, socket.SOCK_RAW),
}
for name, attempt in attempts.items():
    try:
        result = attempt()
    except Exception as exc:  # noqa: BLE001 - every failure is what we hope for
        print(f"HOSTILE network {name}: blocked ({type(exc).__name__}: {exc})", flush=True)
    else:
        _escaped(f"network {name}: {result!r}")

with open("/proc/net/dev") as f:
    interfaces = sorted(line.split(":")[0].strip() for line in f.readlines()[2:])
print(f"HOSTILE network interfaces: {interfaces}", flush=True)
if interfaces != ["lo"]:
    _escaped(f"network interfaces {interfaces}")
print("HOSTILE network: done", flush=True)
