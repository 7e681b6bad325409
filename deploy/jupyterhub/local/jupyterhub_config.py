"""JupyterHub in local mode: candidates' servers on this machine (docs/deploy.md).

    PROCTOR_CAMPAIGN=/srv/campaign PROCTOR_BUNDLE=out/bundle \
    PROCTOR_HUB_TOKEN=$(openssl rand -hex 32) PROCTOR_TIMEBOX_S=5400 \
        jupyterhub -f deploy/jupyterhub/local/jupyterhub_config.py

The campaign folder holds hub/ (database, cookie secret) and work/<candidate>/. The
interviewer drives the hub with PROCTOR_HUB_TOKEN (the `proctor-interviewer` service):
create candidates, give each a token, start their servers, collect their work
(deploy/jupyterhub/collect.py). Candidates cannot start or restart servers themselves, and
the culler stops every server PROCTOR_TIMEBOX_S seconds after it started, active or not:
together, the time box.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

c = get_config()  # noqa: F821  (provided by JupyterHub when it loads this file)

campaign = Path(os.environ.get("PROCTOR_CAMPAIGN", "campaign")).resolve()
state = campaign / "hub"
work = campaign / "work"
state.mkdir(parents=True, exist_ok=True, mode=0o700)
work.mkdir(parents=True, exist_ok=True, mode=0o700)
timebox = int(os.environ.get("PROCTOR_TIMEBOX_S", "5400"))
cull_every = int(os.environ.get("PROCTOR_CULL_EVERY_S", "60"))

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = int(os.environ.get("PROCTOR_HUB_PORT", "8000"))
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = int(os.environ.get("PROCTOR_HUB_API_PORT", "8081"))
c.ConfigurableHTTPProxy.api_url = (
    f"http://127.0.0.1:{os.environ.get('PROCTOR_PROXY_API_PORT', '8001')}")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")

# Candidates authenticate with the token the interviewer gives them (a link
# /user/<name>/lab?token=...); nobody logs in with a password.
c.JupyterHub.authenticator_class = "null"
c.Spawner.environment = {"JUPYTERHUB_ALLOW_TOKEN_IN_URL": "1"}

c.JupyterHub.spawner_class = "candidate_spawner.CandidateSpawner"
c.CandidateSpawner.work_root = str(work)
c.CandidateSpawner.bundle = os.environ.get("PROCTOR_BUNDLE", "")
c.CandidateSpawner.hidden = [str(campaign)]
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 60
c.Spawner.http_timeout = 60
c.Spawner.mem_limit = os.environ.get("PROCTOR_MEM_LIMIT", "4G")  # advertised to the server

c.JupyterHub.services = [
    {"name": "proctor-interviewer", "api_token": os.environ["PROCTOR_HUB_TOKEN"]},
    {"name": "cull-timebox",
     "command": [sys.executable, "-m", "jupyterhub_idle_culler",
                 f"--max-age={timebox}", f"--timeout={2 * timebox}",
                 f"--cull-every={cull_every}"]},
]
c.JupyterHub.load_roles = [
    # Candidates may use their own server, never start, stop or restart one: the interviewer
    # starts it, the culler ends it.
    {"name": "user", "scopes": ["access:servers!user", "read:users:name!user",
                                "read:servers!user", "users:activity!user"]},
    {"name": "proctor-interviewer", "services": ["proctor-interviewer"],
     "scopes": ["admin:users", "admin:servers", "tokens", "access:servers", "list:users",
                "read:users"]},
    {"name": "cull-timebox", "services": ["cull-timebox"],
     "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"]},
]
