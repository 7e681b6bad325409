"""deploy/k8s, offline: every manifest validates against the Kubernetes JSON schemas
shipped by the ``kubernetes-validate`` package (no cluster, no network), and the contracts
the manifests rely on hold — the grading Job's command line, run through the grader
image's real entrypoint, parses with proctor's CLI and its index → shard mapping grades
every submission exactly once; the merge Job lists every shard; each grading pod owns whole
cores (Guaranteed QoS); no pod is privileged; egress is denied to every pod."""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from proctor import cli
from proctor.grading.many import _names, shard_of

kv = pytest.importorskip("kubernetes_validate", reason="kubernetes-validate (the dev extra) "
                         "ships the Kubernetes JSON schemas: pip install kubernetes-validate")

REPO = Path(__file__).resolve().parents[1]
K8S = REPO / "deploy" / "k8s"
ENTRYPOINT = REPO / "docker" / "grader-entrypoint.sh"
# the oldest release with everything the Job uses (hostUsers, procMount, appArmorProfile,
# backoffLimitPerIndex) in its schema, and the newest the package ships
VERSIONS = ["1.33.0", kv.latest_version()]


def docs() -> list[tuple[str, dict]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        out += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return out


def one(kind: str, name: str) -> dict:
    (doc,) = [d for _, d in docs() if d["kind"] == kind and d["metadata"]["name"] == name]
    return doc


def pod_specs() -> list[tuple[str, dict]]:
    out = []
    for _, d in docs():
        if d["kind"] == "Pod":
            out.append((d["metadata"]["name"], d["spec"]))
        elif d["kind"] == "Job":
            out.append((d["metadata"]["name"], d["spec"]["template"]["spec"]))
    return out


def expand(env: list[dict], index: int) -> dict[str, str]:
    """Container env as the kubelet resolves it: $(VAR) refers to a variable defined
    earlier in the list; the Job controller sets the completion-index annotation."""
    values: dict[str, str] = {}
    for e in env:
        if "valueFrom" in e:
            path = e["valueFrom"]["fieldRef"]["fieldPath"]
            assert path == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
            values[e["name"]] = str(index)
        else:
            values[e["name"]] = substitute(e["value"], values)
    return values


def substitute(text: str, values: dict[str, str]) -> str:
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: values.get(m[1], m[0]), text)


# ------------------------------------------------------------------ schemas


@pytest.mark.parametrize("version", VERSIONS)
def test_every_manifest_validates_against_the_kubernetes_schemas(version):
    found = docs()
    assert {d["kind"] for _, d in found} >= {"Namespace", "PersistentVolumeClaim",
                                             "NetworkPolicy", "Job", "Pod"}
    for name, doc in found:
        kv.validate(doc, version, strict=True)  # raises on any error
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "proctor", name


@pytest.mark.parametrize("mutate", [
    lambda job: job["spec"].__setitem__("completionz", 4),  # a typo
    lambda job: job["spec"]["template"]["spec"]["containers"][0].__setitem__("args", "grade"),
    lambda job: job["spec"]["template"]["spec"].__setitem__("hostUsers", "no"),
])
def test_the_schema_check_can_fail(mutate):
    job = copy.deepcopy(one("Job", "proctor-grade"))
    mutate(job)
    with pytest.raises(kv.ValidationError):
        kv.validate(job, VERSIONS[0], strict=True)


# ------------------------------------------------------------------ the grading Job


def grader_container() -> dict:
    (c,) = one("Job", "proctor-grade")["spec"]["template"]["spec"]["containers"]
    return c


def shard_count() -> int:
    spec = one("Job", "proctor-grade")["spec"]
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"]
    return spec["completions"]


@pytest.fixture
def standin_proctor(tmp_path):
    """A ``proctor`` on PATH that records its argv, to run the image's real entrypoint."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    tool = bindir / "proctor"
    tool.write_text(f"#!{sys.executable}\nimport json, os, sys\n"
                    "open(os.environ['ARGV_LOG'], 'w').write(json.dumps(sys.argv[1:]))\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return bindir


def entrypoint_argv(bindir: Path, args: list[str], env: dict[str, str], log: Path) -> list[str]:
    proc = subprocess.run(["bash", str(ENTRYPOINT), *args], capture_output=True, text=True,
                          env={**os.environ, **env, "ARGV_LOG": str(log),
                               "PATH": f"{bindir}:{os.environ['PATH']}"}, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(log.read_text())


def test_each_pod_grades_its_shard_and_together_they_grade_everything_once(
        tmp_path, standin_proctor):
    n = shard_count()
    container = grader_container()
    subs = tmp_path / "submissions"
    names = [f"candidate-{i:03d}" for i in range(41)]
    for i, name in enumerate(names):  # folders and zips, as the volume would hold them
        if i % 3:
            (subs / name / "notebooks").mkdir(parents=True)
        else:
            subs.mkdir(exist_ok=True)
            (subs / f"{name}.zip").write_bytes(b"PK\x05\x06" + bytes(18))
    graded: list[str] = []
    outs = set()
    for index in range(n):
        env = expand(container["env"], index)
        env["PROCTOR_SUBMISSIONS"] = str(subs)  # the mount point, here
        env["PROCTOR_REPORTS"] = str(tmp_path / env["PROCTOR_REPORTS"].lstrip("/"))
        args = [substitute(a, env) for a in container["args"]]
        argv = entrypoint_argv(standin_proctor, args, env, tmp_path / f"argv{index}.json")
        parsed = cli.build_parser().parse_args(argv)  # proctor's real CLI
        assert parsed.command == "grade" and parsed.fn is cli.cmd_grade
        assert parsed.shard == (index, n)
        assert parsed.out == env["PROCTOR_REPORTS"] and parsed.out.endswith(f"/shards/{index}")
        outs.add(parsed.out)
        paths = [Path(p) for p in parsed.submission]
        assert len(paths) == len(names)
        share = shard_of(_names(paths), n)
        graded += [name for name in _names(paths) if share[name] == index]
    assert sorted(graded) == sorted(names)  # every submission exactly once
    assert len(outs) == n  # each pod its own folder


def test_the_index_variable_is_declared_before_it_is_used():
    env = grader_container()["env"]
    names = [e["name"] for e in env]
    assert names[0] == "JOB_COMPLETION_INDEX"
    used = {m for e in env if "value" in e for m in re.findall(r"\$\((\w+)\)", e["value"])}
    used |= {m for a in grader_container()["args"] for m in re.findall(r"\$\((\w+)\)", a)}
    assert used == {"JOB_COMPLETION_INDEX"}


def test_the_merge_job_merges_every_shard_folder():
    n = shard_count()
    (merge,) = one("Job", "proctor-merge")["spec"]["template"]["spec"]["containers"]
    parsed = cli.build_parser().parse_args(merge["args"])
    assert parsed.command == "gradebook" and parsed.fn is cli.cmd_gradebook
    assert parsed.dirs == [f"/reports/shards/{i}" for i in range(n)]
    assert parsed.out not in parsed.dirs
    grader_reports = expand(grader_container()["env"], 0)["PROCTOR_REPORTS"]
    assert grader_reports == "/reports/shards/0"
    mounts = {m["mountPath"]: m for m in merge["volumeMounts"]}
    assert mounts["/reports"]["subPath"] == "reports"


def test_submissions_are_read_only_and_reports_on_the_campaign_volume():
    mounts = {m["mountPath"]: m for m in grader_container()["volumeMounts"]}
    assert mounts["/submissions"]["readOnly"] is True
    assert mounts["/submissions"]["subPath"] == "submissions"
    assert mounts["/reports"]["subPath"] == "reports" and not mounts["/reports"].get("readOnly")
    spec = one("Job", "proctor-grade")["spec"]["template"]["spec"]
    claims = {v["persistentVolumeClaim"]["claimName"] for v in spec["volumes"]
              if "persistentVolumeClaim" in v}
    assert claims == {one("PersistentVolumeClaim", "proctor-campaign")["metadata"]["name"]}
    assert "ReadWriteMany" in one("PersistentVolumeClaim", "proctor-campaign")["spec"][
        "accessModes"]


def cpu_cores(q: str) -> float:
    return float(q[:-1]) / 1000 if q.endswith("m") else float(q)


def test_grading_pods_own_whole_cores():
    """Guaranteed QoS (every container: requests == limits for cpu and memory) with an
    integer CPU count: what the static CPU manager policy needs to give exclusive cores."""
    spec = one("Job", "proctor-grade")["spec"]["template"]["spec"]
    for c in spec.get("initContainers", []) + spec["containers"]:
        req, lim = c["resources"]["requests"], c["resources"]["limits"]
        assert req["cpu"] == lim["cpu"] and req["memory"] == lim["memory"], c["name"]
        cores = cpu_cores(str(req["cpu"]))
        assert cores == int(cores) and cores >= 2  # the timing core + the grader's
    docs_text = (REPO / "docs" / "deploy.md").read_text()
    assert "--cpu-manager-policy=static" in docs_text


def test_no_pod_is_privileged_and_only_the_graders_loosen_the_sandbox_profiles():
    for name, spec in pod_specs():
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC")
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec.get("automountServiceAccountToken") is False, name
        for c in spec.get("initContainers", []) + spec["containers"]:
            sc = c["securityContext"]
            assert not sc.get("privileged"), name
            assert sc["allowPrivilegeEscalation"] is False, name
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add")
            assert sc["readOnlyRootFilesystem"] is True, name
        volumes = spec.get("volumes", [])
        assert not any("hostPath" in v for v in volumes), name
        loose = (spec["securityContext"]["seccompProfile"]["type"] == "Unconfined"
                 or any(c["securityContext"].get("procMount") == "Unmasked"
                        for c in spec["containers"]))
        assert loose == (name == "proctor-grade"), name
    grade = one("Job", "proctor-grade")["spec"]["template"]["spec"]
    assert grade["hostUsers"] is False  # unconfined only inside the pod's own user namespace


def test_egress_is_denied_to_every_pod_of_the_namespace():
    policy = one("NetworkPolicy", "proctor-deny-all")
    ns = one("Namespace", "proctor")["metadata"]["name"]
    assert policy["metadata"]["namespace"] == ns
    assert policy["spec"]["podSelector"] == {}  # every pod, present and future
    assert "Egress" in policy["spec"]["policyTypes"] and policy["spec"]["egress"] == []
    assert "Ingress" in policy["spec"]["policyTypes"] and policy["spec"]["ingress"] == []
    for _, d in docs():
        if d["kind"] != "Namespace":
            assert d["metadata"]["namespace"] == ns
