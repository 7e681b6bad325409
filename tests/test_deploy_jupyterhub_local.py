"""Candidates on a real JupyterHub, on this machine (deploy/jupyterhub/local): the Hub and
its proxy (configurable-http-proxy) start two candidates' servers with the local
CandidateSpawner, each candidate sees only their own work (through the Hub and from inside
their own kernel), neither can start or restart a server, the interviewer collects a
submission from each (deploy/jupyterhub/collect.py) and grades it, and the time box ends
both servers (the culler's max age). The test drives the Hub's REST API with tokens.
Skipped, with the reason, only when a prerequisite is missing."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import nbformat
import pytest
from conftest import build_library, notebook_json, run_cli

REPO = Path(__file__).resolve().parents[1]
LOCAL = REPO / "deploy" / "jupyterhub" / "local"
TIMEBOX_S = 30  # the candidates' servers live this long
CULL_EVERY_S = 2
ADD = "def add(a, b):\n    return a + b\n"
WRONG_ADD = "def add(a, b):\n    return a * b\n"


def _missing() -> str | None:
    for module, what in (("jupyterhub", "pip install jupyterhub"),
                         ("jupyterhub_idle_culler", "pip install jupyterhub-idle-culler"),
                         ("jupyter_server", "pip install jupyter_server")):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed ({what})"
    if not shutil.which("configurable-http-proxy"):
        return ("configurable-http-proxy is not on PATH (npm install -g "
                "configurable-http-proxy; .ci/run installs it)")
    if not shutil.which("bwrap"):
        return "bubblewrap (bwrap) is not installed"
    probe = subprocess.run(["bwrap", "--unshare-user", "--unshare-pid", "--ro-bind", "/", "/",
                            "--proc", "/proc", "true"], capture_output=True, text=True)
    if probe.returncode:
        return f"bubblewrap cannot create its namespaces here: {probe.stderr.strip()}"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=str(_missing()))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token

    def call(self, method: str, path: str, body=None) -> tuple[int, object]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw = resp.read()
                status = resp.status
        except urllib.error.HTTPError as exc:
            raw, status = exc.read(), exc.code
        except urllib.error.URLError:  # not listening (yet)
            return 0, None
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw


def wait_for(what: str, predicate, timeout: float, every: float = 0.3):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hub")
    lib = build_library(tmp / "lib")
    bundle = tmp / "bundle"
    proc = run_cli("--root", str(lib.root), "bundle", str(bundle))
    assert proc.returncode == 0, proc.stderr
    campaign = tmp / "campaign"
    port, token = free_port(), secrets.token_hex(32)
    env = {**os.environ, "PROCTOR_CAMPAIGN": str(campaign), "PROCTOR_BUNDLE": str(bundle),
           "PROCTOR_HUB_TOKEN": token, "PROCTOR_HUB_PORT": str(port),
           "PROCTOR_HUB_API_PORT": str(free_port()), "PROCTOR_PROXY_API_PORT": str(free_port()),
           "PROCTOR_TIMEBOX_S": str(TIMEBOX_S), "PROCTOR_CULL_EVERY_S": str(CULL_EVERY_S),
           "CONFIGPROXY_AUTH_TOKEN": secrets.token_hex(16)}
    log = (tmp / "hub.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f",
                                str(LOCAL / "jupyterhub_config.py")], cwd=tmp, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    api = Api(f"http://127.0.0.1:{port}", token)
    try:
        wait_for("the hub", lambda: process.poll() is not None or api.call("GET", "/hub/api/")[0]
                 == 200, 60)
        assert process.poll() is None, (tmp / "hub.log").read_text()[-3000:]
        yield {"api": api, "tmp": tmp, "lib": lib, "campaign": campaign, "bundle": bundle,
               "env": env, "log": tmp / "hub.log"}
    finally:
        process.send_signal(signal.SIGTERM)  # the hub stops the servers and the proxy
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def run_in_kernel(base: str, user: str, token: str, code: str) -> str:
    """Execute ``code`` in a new kernel of ``user``'s server; return its stdout."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    api = Api(base, token)
    status, kernel = api.call("POST", f"/user/{user}/api/kernels", {"name": "python3"})
    assert status == 201, (status, kernel)

    async def execute() -> str:
        url = base.replace("http", "ws") + f"/user/{user}/api/kernels/{kernel['id']}/channels"
        ws = await websocket_connect(HTTPRequest(url, headers={"Authorization":
                                                               f"token {token}"}))
        msg_id = uuid.uuid4().hex
        await ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user,
                       "session": uuid.uuid4().hex, "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell",
            "content": {"code": code, "silent": False, "store_history": False,
                        "user_expressions": {}, "allow_stdin": False}}))
        out = []
        while True:
            msg = json.loads(await asyncio.wait_for(ws.read_message(), 30))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                out.append("\n".join(msg["content"]["traceback"]))
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                ws.close()
                return "".join(out)

    try:
        return asyncio.run(execute())
    finally:
        api.call("DELETE", f"/user/{user}/api/kernels/{kernel['id']}")


def test_two_candidates_isolated_collected_graded_and_time_boxed(hub):
    api, campaign = hub["api"], hub["campaign"]
    status, _ = api.call("POST", "/hub/api/users", {"usernames": ["alice", "bob"]})
    assert status == 201
    tokens = {}
    for user in ("alice", "bob"):
        status, tok = api.call("POST", f"/hub/api/users/{user}/tokens",
                               {"note": "candidate link", "expires_in": 3600,
                                "scopes": [f"access:servers!user={user}",
                                           f"read:servers!user={user}"]})
        assert status == 201, tok
        tokens[user] = Api(api.base, tok["token"])
    # the candidates cannot start their servers: the interviewer does, at the interview
    assert tokens["alice"].call("POST", "/hub/api/users/alice/server")[0] == 403
    started = time.monotonic()
    for user in ("alice", "bob"):
        assert api.call("POST", f"/hub/api/users/{user}/server")[0] in (201, 202)
    for user in ("alice", "bob"):
        wait_for(f"{user}'s server", lambda u=user: api.call("GET", f"/hub/api/users/{u}")[1]
                 ["servers"].get("", {}).get("ready"), 60)

    # each works in their own copy of the bundle
    for user, code in (("alice", ADD), ("bob", WRONG_ADD)):
        me = tokens[user]
        status, listing = me.call("GET", f"/user/{user}/api/contents/notebooks")
        assert status == 200 and "adder.ipynb" in [i["name"] for i in listing["content"]]
        nb = nbformat.reads(notebook_json([code]), as_version=4)
        status, _ = me.call("PUT", f"/user/{user}/api/contents/notebooks/adder.ipynb",
                            {"type": "notebook", "format": "json", "content": nb})
        assert status == 200
    # ... and cannot reach the other's server, through the Hub ...
    for me, other in (("alice", "bob"), ("bob", "alice")):
        status, _ = tokens[me].call("GET", f"/user/{other}/api/contents/notebooks")
        assert status in (403, 404), status
    # ... nor see the other's files or the Hub's state from inside their own kernel
    bob_nb = campaign / "work" / "bob" / "notebooks" / "adder.ipynb"
    hub_db = campaign / "hub" / "jupyterhub.sqlite"
    assert bob_nb.is_file() and hub_db.is_file()  # they exist: the probe is meaningful
    seen = run_in_kernel(api.base, "alice", tokens["alice"].token, (
        "import os\n"
        f"print('WORK', sorted(os.listdir({str(campaign / 'work')!r})))\n"
        f"print('BOB', os.path.exists({str(bob_nb)!r}))\n"
        f"print('HUB', os.path.exists({str(hub_db)!r}))\n"
        "print('CWD', os.getcwd(), os.getuid())\n"))
    assert "WORK ['alice']" in seen and "BOB False" in seen and "HUB False" in seen, seen
    assert f"CWD {campaign / 'work' / 'alice'} 1000" in seen, seen

    # the interviewer collects both submissions and grades them
    out = hub["tmp"] / "collected"
    collect = subprocess.run([sys.executable, str(REPO / "deploy" / "jupyterhub" / "collect.py"),
                              "--hub", api.base, "--out", str(out)], capture_output=True,
                             text=True, timeout=120, env=hub["env"])
    assert collect.returncode == 0, collect.stderr
    assert sorted(p.name for p in out.iterdir()) == ["alice", "bob"]
    for user, code in (("alice", ADD), ("bob", WRONG_ADD)):
        nb = nbformat.read(out / user / "notebooks" / "adder.ipynb", as_version=4)
        assert [c.source for c in nb.cells if c.cell_type == "code"] == [code]
    book = hub["tmp"] / "reports"
    graded = run_cli("--root", str(hub["lib"].root), "grade", str(out / "alice"),
                     str(out / "bob"), "--exercise", "adder", "--unsafe-no-sandbox",
                     "--out", str(book))
    assert graded.returncode == 0, graded.stderr
    scores = {r["name"]: r["score"] for r in json.loads((book / "summary.json").read_text())}
    assert scores["alice"] == 4 and scores["bob"] < 4

    # the time box: both servers stop at the culler's max age, and stay stopped
    for user in ("alice", "bob"):
        wait_for(f"the end of {user}'s time box", lambda u=user: not api.call(
            "GET", f"/hub/api/users/{u}")[1]["servers"], TIMEBOX_S + 30, every=1)
    lasted = time.monotonic() - started
    assert TIMEBOX_S - 1 <= lasted <= TIMEBOX_S + 4 * CULL_EVERY_S + 10, lasted
    assert tokens["alice"].call("POST", "/hub/api/users/alice/server")[0] == 403
    # the work outlives the server
    assert "a + b" in (campaign / "work" / "alice" / "notebooks" / "adder.ipynb").read_text()


def test_a_python_under_tmp_stays_visible_in_the_servers_private_tmp(tmp_path):
    """A CI job's clone (its venv) under /tmp: the server's private /tmp hid the Python it
    runs ("python: not found", the hub answered 500). ``keep`` binds such folders back,
    read-only, and the hidden campaign stays hidden."""
    sys.path.insert(0, str(LOCAL))
    try:
        import candidate_spawner as cs
    finally:
        sys.path.remove(str(LOCAL))
    venv, campaign = tmp_path / "venv", tmp_path / "campaign"
    work = campaign / "work" / "alice"
    work.mkdir(parents=True)
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "tool").write_text("here\n")
    (campaign / "secret").write_text("hub state\n")
    script = (f"cat {venv}/bin/tool; test -e {campaign}/secret && echo LEAK; "
              f"echo mine > {work}/x && cat {work}/x; echo ro > {venv}/y || echo read-only")
    argv = cs.bwrap_argv(str(work), [str(campaign)], keep=[str(venv)])
    out = subprocess.run([*argv, "/bin/sh", "-c", script], capture_output=True, text=True)
    assert out.stdout.split() == ["here", "mine", "read-only"], out.stdout + out.stderr
    assert str(Path(sys.prefix)) in cs.python_paths_in_tmp() or not sys.prefix.startswith("/tmp/")
