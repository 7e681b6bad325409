"""The segmentation exercise's material (the timed, sandboxed truth is ``proctor calibrate
--strict segmentation``; these are its fast, in-process twins):

* the committed reference weights load with ``weights_only=True``, are small, and give
  well-formed predictions (batches of 0, 1, 8) that reach the budgets on public images;
* the rejected solutions differ from the reference the way their names say;
* the starter's suggested network is the reference's;
* the contract ledger names real checks and rejected solutions that fail them, and the
  prompt states every budget as a number.
"""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from conftest import ROOT, check_defs, load_solution, namespace_of

from proctor.library.spec import Library

torch = pytest.importorskip("torch")

SEG = ROOT / "reference_solutions" / "segmentation"
WEIGHTS = SEG / "accepted/reference/artifacts/segmentation/model.pt"
EX = Library(ROOT).get("segmentation")


@pytest.fixture(scope="module")
def reference():
    mod = load_solution("segmentation", "accepted/reference")
    assert mod.TRAIN is False
    model = mod.UNet()
    model.load_state_dict(torch.load(WEIGHTS, map_location="cpu", weights_only=True))
    mod._model = model.eval()
    return mod


@pytest.fixture(scope="module")
def public():
    from proctor.kit.segmentation import segmentation

    return segmentation(100, 2025)


def _variant(name: str, reference):
    mod = load_solution("segmentation", name)  # a mutant of the reference
    mod._model = reference._model
    return mod


def _loading_variant(name: str):
    """A mutant that loads the weights itself (its bug is in load_model)."""
    mod = load_solution("segmentation", name)
    mod.artifact_dir = lambda _id: WEIGHTS.parent
    return mod


def test_reference_weights_are_small_and_predictions_well_formed(reference, public) -> None:
    images, _ = public
    assert WEIGHTS.stat().st_size <= 300_000
    state = torch.load(WEIGHTS, map_location="cpu", weights_only=True)
    assert {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float16}
    for n in (0, 1, 8):
        got = reference.predict(images[:n])
        assert isinstance(got, np.ndarray) and got.dtype == np.int64
        assert got.shape == (n, 64, 64)
    one = reference.predict(images[:8])
    assert np.array_equal(reference.predict(images[3:4])[0], one[3])  # eval mode: per image


def test_reference_meets_the_budgets_on_public_images(reference, public) -> None:
    from proctor.kit.segmentation import evaluate

    images, masks = public
    r = evaluate(reference.predict(images), masks)
    budgets = EX.spec.budgets
    assert r["miou"] >= budgets["miou"].min + 0.1, r
    assert min(r["per_class_iou"]) >= budgets["class_iou"].min + 0.1, r
    assert r["boundary_f"] >= budgets["boundary_f"].min + 0.03, r


def test_rejected_solutions_break_what_they_say(reference, public) -> None:
    images, _ = public
    x = images[:8]
    want = reference.predict(x)
    assert _variant("uint8_output", reference).predict(x).dtype == np.uint8
    squeezed = _variant("squeezed_batch", reference)
    assert squeezed.predict(x[:1]).shape == (64, 64)
    assert np.array_equal(squeezed.predict(x), want)
    no_cross = _variant("ignores_rare_class", reference).predict(x)
    assert (want == 4).any() and not (no_cross == 4).any()
    assert np.array_equal(no_cross[want != 4], want[want != 4])
    blocky = _variant("blocky_outlines", reference).predict(x)
    cells = blocky.reshape(8, 16, 4, 16, 4)
    assert (cells == cells[:, :, :1, :, :1]).all()  # one class per 4 x 4 cell
    assert not (_variant("majority_class", reference).predict(x)).any()
    assert _variant("argmax_wrong_axis", reference).predict(x).shape == (8, 5, 64)
    tta = _variant("test_time_augmentation", reference).predict(x)
    assert (tta == want).mean() > 0.95
    kept = _variant("channel_axis_kept", reference).predict(x)
    assert kept.shape == (8, 1, 64, 64) and np.array_equal(kept[:, 0], want)
    stray = _variant("stray_class_id", reference).predict(x)
    assert (stray[:, 0, 0] == 255).all()
    assert np.array_equal(stray[:, 1:], want[:, 1:]) and np.array_equal(stray[:, 0, 1:],
                                                                        want[:, 0, 1:])
    cheap = _variant("cheap_path_for_timed_batches", reference)
    assert np.array_equal(cheap.predict(images[:9])[:8], want)  # other sizes: the network
    fast = cheap.predict(x)
    assert set(np.unique(fast)) <= {0, 1} and (fast != want).mean() > 0.05


def test_batch_norm_in_training_mode_depends_on_the_batch(reference, public) -> None:
    images, _ = public
    bn = _loading_variant("bn_train_mode")
    ref = _loading_variant("accepted/reference")
    for mod in (bn, ref):
        together = mod.predict(images[:6])
        alone = np.concatenate([mod.predict(images[i:i + 1]) for i in range(6)])
        agreement = (together == alone).mean()
        assert agreement < 0.95 if mod is bn else agreement == 1.0
    assert bn._model.training and not ref._model.training


def test_starter_network_is_the_reference_network(reference) -> None:
    starter = namespace_of(EX.starter)
    a, b = starter["UNet"](), reference.UNet()
    assert [(k, v.shape) for k, v in a.state_dict().items()] == \
        [(k, v.shape) for k, v in b.state_dict().items()]
    assert a(torch.zeros(2, 3, 64, 64)).shape == (2, 5, 64, 64)


def test_contract_ledger_and_prompt() -> None:
    ledger = tomllib.loads((SEG / "contract.toml").read_text())["clause"]
    checks = {d.id for d in check_defs(EX)}
    owned = set()
    for clause in ledger:
        if clause.get("foundational"):  # no check owns it (e.g. the engine's time limit)
            assert not clause["rejected"], clause
            continue
        assert clause["check"] in checks, clause
        owned.add(clause["check"])
        for name in clause["rejected"]:
            expect = tomllib.loads((SEG / "rejected" / name / "expect.toml").read_text())
            assert clause["check"] in expect["fail"], (clause["id"], name)
    assert owned == checks
    prompt = EX.prompt
    for budget in EX.spec.budgets.values():
        bound = budget.min if budget.min is not None else budget.max
        assert any(text in prompt for text in (f"{bound:.2f}", f"{bound:g}×",
                                               f"{int(bound):,} bytes")), budget


def test_every_rejected_solution_is_in_the_ledger() -> None:
    ledger = tomllib.loads((SEG / "contract.toml").read_text())["clause"]
    named = {n for clause in ledger for n in clause["rejected"]}
    on_disk = {p.name for p in (SEG / "rejected").iterdir() if p.is_dir()}
    assert named == on_disk


def test_build_scripts_are_where_the_weights_differ() -> None:
    for name in ("undertrained", "overfit_no_augmentation", "oversize_model"):
        assert (SEG / "rejected" / name / "build.py").is_file()
    assert not list((SEG / "rejected").glob("*/artifacts"))  # nothing but the reference's




def test_weights_pasted_into_the_notebook_count_towards_the_size_budget(tmp_path) -> None:
    """The outsider's bypass: an empty artifacts folder and 2.1 MB of base64 weights in a
    cell passed as "0 bytes in 0 files"; the notebook's code now counts too."""
    import base64
    import types

    size = next(d for d in check_defs(EX) if d.id == "artifact_size")
    empty = tmp_path / "artifacts" / "segmentation"
    empty.mkdir(parents=True)
    pasted = f"W = {base64.b64encode(bytes(1_600_000)).decode()!r}"

    def judge(folder, code):
        ctx = types.SimpleNamespace(budget=EX.spec.budgets.__getitem__, artifact_dir=folder,
                                    code=tuple(code))
        return size.fn(ctx)

    out = judge(empty, ["import torch", pasted])
    assert out.status == "fail" and out.measured["code_bytes"] > 2_000_000, out.message
    assert out.measured["artifact_bytes"] == 0
    assert judge(None, [pasted]).status == "fail"
    nothing = judge(empty, ["def predict(images):\n    raise NotImplementedError"])
    assert nothing.status == "fail" and "holds no file" in nothing.message
    honest = judge(WEIGHTS.parent, [(SEG / "accepted/reference/solution.py").read_text()])
    assert honest.status == "pass", honest.message
    assert honest.measured["bytes"] == (WEIGHTS.stat().st_size + honest.measured["code_bytes"])
