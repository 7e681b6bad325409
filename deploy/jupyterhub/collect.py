#!/usr/bin/env python3
"""Collect candidates' work from a JupyterHub into submission folders for ``proctor grade``.

    python deploy/jupyterhub/collect.py --hub http://127.0.0.1:8000 --out submissions/ \
        [--user alice ...]          # token from $PROCTOR_HUB_TOKEN (the interviewer service)

For each candidate (default: every user who is not an admin) it copies ``notebooks/`` and
``artifacts/`` from their server, through the Hub's proxy and the Jupyter contents API,
into ``OUT/<candidate>/``: the shape of a submission. A server that is not running (the
time box ended it) is started for the copy and stopped again. Nothing of the candidate's
is run or parsed here; ``proctor grade`` treats the folders as hostile input.
Standard library only, so it runs anywhere Python does.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

PARTS = ("notebooks", "artifacts")  # what a submission holds (DESIGN.md: Submission)


class Hub:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url.rstrip("/"), token

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def json(self, method: str, path: str, body: dict | None = None):
        status, raw = self.request(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {path}: HTTP {status}: {raw[:300]!r}")
        return json.loads(raw) if raw else None

    def users(self) -> list[dict]:
        return self.json("GET", "/hub/api/users")

    def running(self, name: str) -> bool:
        server = self.json("GET", f"/hub/api/users/{q(name)}").get("servers", {}).get("", {})
        return bool(server.get("ready"))

    def start(self, name: str, timeout: float = 120) -> None:
        status, raw = self.request("POST", f"/hub/api/users/{q(name)}/server")
        if status not in (201, 202, 400):  # 400: already running
            raise RuntimeError(f"starting {name}'s server: HTTP {status}: {raw[:300]!r}")
        deadline = time.monotonic() + timeout
        while not self.running(name):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name}'s server did not start within {timeout:g} s")
            time.sleep(0.5)

    def stop(self, name: str) -> None:
        self.request("DELETE", f"/hub/api/users/{q(name)}/server")


def q(name: str) -> str:
    return urllib.parse.quote(name, safe="")


def copy_tree(hub: Hub, user: str, path: str, dest: Path) -> int:
    """Copy the contents-API folder ``path`` of ``user``'s server into ``dest``."""
    status, raw = hub.request("GET", f"/user/{q(user)}/api/contents/{urllib.parse.quote(path)}"
                                     "?content=1")
    if status == 404:
        return 0
    if status >= 400:
        raise RuntimeError(f"{user}: {path}: HTTP {status}: {raw[:300]!r}")
    model = json.loads(raw)
    if model["type"] == "directory":
        return sum(copy_tree(hub, user, item["path"], dest) for item in model["content"])
    rel = PurePosixPath(model["path"])
    if rel.is_absolute() or ".." in rel.parts:  # the server is the candidate's: distrust it
        raise RuntimeError(f"{user}: refusing path {model['path']!r}")
    target = dest.joinpath(*rel.parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if model["type"] == "notebook":
        target.write_text(json.dumps(model["content"], indent=1) + "\n")
    elif model.get("format") == "base64":
        target.write_bytes(base64.b64decode(model["content"]))
    else:
        target.write_text(model["content"])
    return 1


def collect(hub: Hub, out: Path, users: list[str] | None = None) -> dict[str, int]:
    if users is None:
        users = [u["name"] for u in hub.users() if not u.get("admin") and u.get("kind",
                                                                                  "user") == "user"]
    copied = {}
    for user in users:
        started = not hub.running(user)
        if started:
            hub.start(user)
        try:
            dest = out / user
            dest.mkdir(parents=True, exist_ok=True)
            copied[user] = sum(copy_tree(hub, user, part, dest) for part in PARTS)
        finally:
            if started:
                hub.stop(user)
    return copied


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hub", required=True, help="the Hub's public URL, e.g. http://127.0.0.1:8000")
    p.add_argument("--out", required=True, help="folder to write <candidate>/ submissions into")
    p.add_argument("--user", action="append", help="only this candidate (repeatable)")
    args = p.parse_args(argv)
    token = os.environ.get("PROCTOR_HUB_TOKEN")
    if not token:
        print("collect: set PROCTOR_HUB_TOKEN (the proctor-interviewer service's token)",
              file=sys.stderr)
        return 2
    for user, n in collect(Hub(args.hub, token), Path(args.out), args.user).items():
        print(f"{user}: {n} file(s) -> {Path(args.out) / user}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
