"""The edge exercises (onnx_export, quantize_int8, prune) against the shipped baseline.

* the trusted side's numpy preprocessing (exercises/_shared/edge_checks.py, which must not
  import torch) equals ``proctor.kit.baseline.preprocess``;
* the prune budget is 0.35x the baseline's parameter count *as the runner counts it*;
* the public checks, run the way ``check()`` runs them (runner in-process, bundle layout),
  give the expected verdicts on the fp32 baseline itself: it is a valid model of the
  right I/O, neither int8 nor pruned;
* the spec wiring: one shared runner, one ``*.onnx`` in the reference dir.

Calibration (``proctor calibrate onnx_export quantize_int8 prune``) grades the reference
and rejected solutions in the real sandbox; these tests are the fast part.
"""

from __future__ import annotations

import math
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from proctor.candidate.local import run_public
from proctor.library.spec import Library

ROOT = Path(__file__).resolve().parents[1]
LIB = Library(ROOT)
SHARED = ROOT / "exercises" / "_shared"
EDGE = ("onnx_export", "quantize_int8", "prune")

torch = pytest.importorskip("torch")
from proctor import baseline  # noqa: E402  (needs torch)


def _module(path: Path) -> types.ModuleType:
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def edge():
    return _module(SHARED / "edge_checks.py")


@pytest.fixture(scope="module")
def baseline_desc(tmp_path_factory):
    """describe() of the shipped fp32 ONNX baseline, by the runner."""
    import os

    folder = tmp_path_factory.mktemp("ref")
    shutil.copy(baseline.ONNX_PATH, folder / baseline.ONNX_PATH.name)
    saved = {k: os.environ.get(k) for k in ("PROCTOR_GRADING", "PROCTOR_EXERCISE",
                                             "PROCTOR_ARTIFACT_DIR")}
    os.environ.update(PROCTOR_GRADING="1", PROCTOR_EXERCISE="prune",
                      PROCTOR_ARTIFACT_DIR=str(folder))
    try:
        ns = {"__name__": "__main__"}
        runner = SHARED / "onnx_runner.py"
        exec(compile(runner.read_text(), str(runner), "exec"), ns)
        return ns["describe"]()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_edge_checks_do_not_import_torch():
    src = (SHARED / "edge_checks.py").read_text()
    assert "import torch" not in src and "proctor.kit.baseline" not in src.replace(
        "``proctor.kit.baseline.preprocess``", "")


def test_numpy_preprocess_equals_torch(edge):
    from proctor.kit.datasets import classification

    images, _ = classification(64, baseline.PUBLIC_SEED)
    got = edge.preprocess(images)
    want = baseline.preprocess(images).numpy()
    assert got.dtype == np.float32 and got.shape == want.shape == (64, 3, 64, 64)
    assert float(np.abs(got - want).max()) <= 1e-6
    pub = edge.meta()["public"]
    assert (pub["seed"], pub["n"]) == (baseline.PUBLIC_SEED, baseline.PUBLIC_N)


def test_baseline_onnx_as_the_runner_sees_it(baseline_desc):
    d = baseline_desc
    assert d["opsets"] == {"ai.onnx": 17}
    assert d["inputs"] == [{"name": "input", "dtype": "float32",
                            "shape": [d["inputs"][0]["shape"][0], 3, 64, 64]}]
    assert isinstance(d["inputs"][0]["shape"][0], str)  # dynamic batch
    assert d["outputs"][0]["dtype"] == "float32" and d["outputs"][0]["shape"][1] == 8
    assert d["external_data"] == []
    assert all(w["stored_dtype"] == "float32" for w in d["weights"])
    convs = [w for w in d["weights"] if w["op"] == "Conv"]
    assert len(convs) == 5


def test_prune_parameter_budget_is_035x_the_baseline(baseline_desc):
    spec = LIB.get("prune").spec
    n = baseline_desc["parameters"]
    assert spec.budgets["parameters"].max == math.floor(0.35 * n)
    prompt = LIB.get("prune").prompt
    assert f"{math.floor(0.35 * n):,}" in prompt and f"{n:,}" in prompt
    assert f"{n:,}" in spec.budgets["parameters"].description
    assert str(tuple(baseline.WIDTHS)) in prompt  # the architecture the prompt describes


def test_specs_share_one_runner_and_the_baseline():
    for ex_id in EDGE:
        ex = LIB.get(ex_id)
        assert ex.spec.kind == "artifact" and ex.spec.artifacts == ["model.onnx"]
        assert (ex.public_dir / ex.spec.runner).resolve() == SHARED / "onnx_runner.py"
        ref = (ex.public_dir / ex.spec.reference_artifact).resolve()
        assert ref == SHARED and sorted(p.name for p in ref.glob("*.onnx")) == [
            baseline.ONNX_PATH.name]
        assert (ex.grader_dir / "seed.txt").read_text().strip().isdigit()


def _bundle_with(tmp_path: Path, ex_id: str, model: Path) -> Path:
    """A minimal bundle: the three edge exercises, _shared, and ``model`` as the artifact."""
    root = tmp_path / "bundle"
    for e in EDGE:
        shutil.copytree(ROOT / "exercises" / e, root / "exercises" / e)
    shutil.copytree(SHARED, root / "exercises" / "_shared",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "artifacts" / ex_id).mkdir(parents=True)
    shutil.copy(model, root / "artifacts" / ex_id / "model.onnx")
    return root


@pytest.mark.parametrize("ex_id,expect", [
    ("quantize_int8", {"loads": "pass", "io_contract": "pass", "public_accuracy": "pass",
                       "model_size": "fail", "int8_weights": "fail", "saturation_safe": "pass"}),
    ("prune", {"loads": "pass", "io_contract": "pass", "parameters": "fail",
               "public_accuracy": "pass"}),
    ("onnx_export", {"loads": "fail", "io_contract": "fail", "public_accuracy": "fail"}),
])
def test_public_checks_on_the_fp32_baseline(tmp_path, monkeypatch, ex_id, expect):
    """check() in a notebook: the shared runner finds the exercise's artifact dir from
    PROCTOR_EXERCISE, set by local_check while it runs."""
    for k in ("PROCTOR_GRADING", "PROCTOR_EXERCISE", "PROCTOR_ARTIFACT_DIR",
              "PROCTOR_BUNDLE"):
        monkeypatch.delenv(k, raising=False)
    root = _bundle_with(tmp_path, ex_id, baseline.ONNX_PATH)
    results = {r.id: r for r in run_public(ex_id, {}, root)}
    assert {k: r.status for k, r in results.items()} == expect, {
        k: r.message for k, r in results.items()}
    if ex_id == "quantize_int8":
        assert results["model_size"].measured["ratio"] == 1.0
        assert "float32" in results["int8_weights"].message
    if ex_id == "prune":
        assert "135,400" in results["parameters"].message
    if ex_id == "onnx_export":
        assert "uint8" in results["io_contract"].message
    assert "PROCTOR_EXERCISE" not in __import__("os").environ


def test_checks_modules_load_helpers_without_bytecode():
    assert not (SHARED / "__pycache__").exists() or not any(
        p.name.startswith("edge_checks") for p in (SHARED / "__pycache__").iterdir())
    for ex_id in EDGE:
        for path in (ROOT / "exercises" / ex_id / "checks.py",
                     ROOT / "graders" / ex_id / "checks.py"):
            assert "def _edge(ctx):" in path.read_text() or "def _helpers(ctx):" in path.read_text()
    assert "edge_checks" not in sys.modules
