"""The detection exercise's material, and the engine support for solutions with saved files.

* solution folders (``solution.py`` + ``artifacts/<id>/``), ``weights_from`` and a code
  solution's ``build.py``, on a throwaway library;
* the committed reference weights load with ``weights_only=True`` and give well-formed
  predictions that reach the AP target on public validation images;
* the rejected solutions differ from the reference the way their names say;
* the starter's suggested network is the reference's.
"""

from __future__ import annotations

import importlib.util
import textwrap
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from conftest import load_solution

from proctor.calibrate import code_artifacts, discover
from proctor.grading.submission import reference_source
from proctor.library.spec import Library, SpecError

ROOT = Path(__file__).resolve().parents[1]
DET = ROOT / "reference_solutions" / "detection"


def _toy_library(tmp_path: Path) -> Library:
    ex = tmp_path / "exercises" / "toy"
    ex.mkdir(parents=True)
    (ex / "exercise.toml").write_text(textwrap.dedent("""\
        id = "toy"
        title = "Toy"
        track = "ml"
        kind = "code"
        points = 1
        suggested_minutes = 1
        """))
    (ex / "prompt.md").write_text("toy\n")
    (ex / "starter.py").write_text("def f():\n    raise NotImplementedError\n")
    sols = tmp_path / "reference_solutions" / "toy"
    ref = sols / "accepted" / "reference"
    (ref / "artifacts" / "toy").mkdir(parents=True)
    (ref / "solution.py").write_text("def f():\n    return 1\n")
    (ref / "artifacts" / "toy" / "w.bin").write_bytes(b"weights")
    reuse = sols / "rejected" / "reuse"
    reuse.mkdir(parents=True)
    (reuse / "solution.py").write_text("def f():\n    return 2\n")
    (reuse / "expect.toml").write_text('weights_from = "accepted/reference"\nfail = ["x"]\n')
    built = sols / "rejected" / "built"
    built.mkdir(parents=True)
    (built / "solution.py").write_text("def f():\n    return 3\n")
    (built / "expect.toml").write_text('weights_from = "accepted/reference"\nfail = ["x"]\n')
    (built / "build.py").write_text(
        "import sys, pathlib\n"
        "out = pathlib.Path(sys.argv[1])\n"
        "assert (out / 'w.bin').read_bytes() == b'weights'\n"
        "(out / 'extra.bin').write_bytes(b'x' * 10)\n")
    return Library(tmp_path)


def test_solution_folders_weights_from_and_build(tmp_path):
    lib = _toy_library(tmp_path)
    ex = lib.get("toy")
    ref_art = (tmp_path / "reference_solutions/toy/accepted/reference/artifacts/toy").resolve()
    src = reference_source(ex)
    assert src.artifact_dir == ref_art
    assert "return 1" in src.cells[0]
    sols = {s.name: s for s in discover(ex)}
    assert set(sols) == {"accepted/reference", "rejected/reuse", "rejected/built"}
    cache = tmp_path / "cache"
    assert code_artifacts(ex, sols["accepted/reference"], cache) == ref_art
    assert code_artifacts(ex, sols["rejected/reuse"], cache) == ref_art
    out = code_artifacts(ex, sols["rejected/built"], cache)
    assert out is not None and out.parent.parent == cache
    assert (out / "w.bin").read_bytes() == b"weights" and (out / "extra.bin").stat().st_size == 10
    assert (ref_art / "extra.bin").exists() is False  # the committed folder is untouched
    assert code_artifacts(ex, sols["rejected/built"], cache) == out  # cached by content


def test_weights_from_must_name_a_solution(tmp_path):
    lib = _toy_library(tmp_path)
    expect = tmp_path / "reference_solutions/toy/rejected/reuse/expect.toml"
    for bad in ("../../elsewhere", "/etc", "accepted/missing"):
        expect.write_text(f'weights_from = "{bad}"\nfail = ["x"]\n')
        with pytest.raises(SpecError):
            discover(lib.get("toy"))


def test_single_file_reference_still_works(tmp_path):
    lib = _toy_library(tmp_path)
    sols = tmp_path / "reference_solutions/toy/accepted"
    (sols / "reference.py").write_text("def f():\n    return 0\n")
    src = reference_source(lib.get("toy"))
    assert src.artifact_dir is None and "return 0" in src.cells[0]


# ----------------------------------------------------------------------- detection material

torch = pytest.importorskip("torch")
pytest.importorskip("pycocotools")


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not __main__: nothing trains
    return module


@pytest.fixture(scope="module")
def reference():
    mod = _load(DET / "accepted/reference/solution.py", "det_reference")
    assert mod.TRAIN is False
    model = mod.Detector()
    weights = DET / "accepted/reference/artifacts/detection/model.pt"
    assert weights.stat().st_size < 1 << 20
    model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    mod._model = model.eval()
    return mod


def test_reference_predictions_are_well_formed_and_accurate(reference):
    from proctor.kit.cocoeval import as_detections, evaluate
    from proctor.kit.datasets import detection

    images, targets = detection(100, reference.VAL_SEED)
    preds = as_detections(reference.predict(images), 100, 3)
    assert reference.predict(images[:0]) == []
    assert len(reference.predict(images[:1])) == 1
    assert all(len(p["scores"]) <= reference.MAX_DETS for p in preds)
    r = evaluate(preds, targets, 3)
    assert r["AP50"] >= 0.85 and r["AP"] >= 0.5, r


def _variant(name: str, reference) -> ModuleType:
    mod = load_solution("detection", name)  # a solution.py, or a mutant of the reference
    mod._model = reference._model
    return mod


def test_rejected_solutions_break_what_they_say(reference):
    from proctor.kit.datasets import detection

    images, _ = detection(8, reference.VAL_SEED)
    want = reference.predict(images)
    xywh = _variant("xywh_output", reference).predict(images)
    for w, g in zip(want, xywh, strict=True):
        assert np.allclose(g["boxes"][:, 2:], w["boxes"][:, 2:] - w["boxes"][:, :2], atol=1e-4)
    dup = _variant("no_nms", reference).predict(images)
    assert all(len(d["scores"]) > len(w["scores"][w["scores"] > 0.3]) for d, w in
               zip(dup, want, strict=True))
    const = _variant("constant_scores", reference).predict(images)
    assert all(np.all(c["scores"] == 1.0) for c in const)
    same = _variant("oversize_model", reference).predict(images)
    for w, g in zip(want, same, strict=True):
        assert np.array_equal(w["boxes"], g["boxes"]) and np.array_equal(w["scores"], g["scores"])


def test_starter_network_is_the_reference_network(reference):
    starter = _load(ROOT / "exercises/detection/starter.py", "det_starter")
    a, b = starter.Detector(), reference.Detector()
    assert [(k, v.shape) for k, v in a.state_dict().items()] == \
        [(k, v.shape) for k, v in b.state_dict().items()]
    assert a(torch.zeros(2, 3, 96, 96)).shape == (2, 7, 24, 24)
