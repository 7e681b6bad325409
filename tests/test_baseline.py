"""Tests for the shipped public baseline model (skipped where torch is missing)."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from proctor import baseline as B  # noqa: E402
from proctor.kit.datasets import classification  # noqa: E402

PUBLIC_SUBSET = 500  # keeps the test fast; the recorded figure is on PUBLIC_N


@pytest.fixture(scope="module")
def meta() -> dict:
    return json.loads(B.META_PATH.read_text())


@pytest.fixture(scope="module")
def model() -> torch.nn.Module:
    torch.set_num_threads(2)
    return B.load_baseline()


@pytest.fixture(scope="module")
def public_subset() -> tuple[np.ndarray, np.ndarray]:
    return classification(PUBLIC_SUBSET, seed=B.PUBLIC_SEED)


def test_shipped_files_exist_and_are_small() -> None:
    for p in (B.STATE_DICT_PATH, B.ONNX_PATH, B.META_PATH):
        assert p.is_file(), p
    for p in (B.STATE_DICT_PATH, B.ONNX_PATH):
        assert 100_000 < p.stat().st_size < 2_000_000, (p, p.stat().st_size)


def test_state_dict_loads_weights_only_strict() -> None:
    state = torch.load(B.STATE_DICT_PATH, map_location="cpu", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    m = B.build_model()
    result = m.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_parameter_count(model: torch.nn.Module, meta: dict) -> None:
    n = B.count_parameters(model)
    assert 100_000 < n < 400_000
    assert n == meta["parameters"]


def test_meta_records_seeds(meta: dict) -> None:
    assert meta["train"]["seed"] == B.TRAIN_SEED
    assert meta["public"]["seed"] == B.PUBLIC_SEED
    assert meta["public"]["n"] == B.PUBLIC_N
    assert B.TRAIN_SEED != B.PUBLIC_SEED
    assert meta["widths"] == list(B.WIDTHS)


def test_public_accuracy_matches_record(model, meta, public_subset) -> None:
    x, y = public_subset
    acc = B.accuracy(model, torch.from_numpy(x), torch.from_numpy(y))
    # datasets.classification has the prefix property, so these are the first
    # 500 images of the recorded public split; compare with the figure
    # recorded on exactly those images.
    recorded = meta["public"]["accuracy_torch_first_500"]
    full = meta["public"]["accuracy_torch"]
    print(f"public accuracy on {PUBLIC_SUBSET}: {acc:.4f} (recorded {recorded:.4f}; "
          f"on all {B.PUBLIC_N}: {full:.4f})")
    assert abs(acc - recorded) <= 0.03
    assert abs(full - recorded) <= 0.06  # sampling noise only
    assert 0.8 < full < 0.97


def test_onnx_matches_torch(model, public_subset) -> None:
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")

    proto = onnx.load(str(B.ONNX_PATH))
    # Single self-contained file: no initializer lives in external data.
    for init in proto.graph.initializer:
        assert init.data_location != onnx.TensorProto.EXTERNAL, init.name
    opsets = {o.domain: o.version for o in proto.opset_import}
    assert opsets.get("", opsets.get("ai.onnx")) == 17
    assert [i.name for i in proto.graph.input] == ["input"]
    assert [o.name for o in proto.graph.output] == ["logits"]

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(B.ONNX_PATH), so, providers=["CPUExecutionProvider"])
    x_u8 = torch.from_numpy(public_subset[0][:8])
    x = B.preprocess(x_u8)
    with torch.no_grad():
        expected = model(x).numpy()
    got = sess.run(["logits"], {"input": x.numpy()})[0]
    assert got.shape == (8, B.NUM_CLASSES)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4)
    # Dynamic batch: batch 1 works too and agrees.
    got1 = sess.run(["logits"], {"input": x[:1].numpy()})[0]
    np.testing.assert_allclose(got1, expected[:1], rtol=0, atol=1e-4)


def test_preprocess_contract() -> None:
    x = torch.zeros((2, 64, 64, 3), dtype=torch.uint8)
    x[1] = 255
    y = B.preprocess(x)
    assert y.shape == (2, 3, 64, 64) and y.dtype == torch.float32
    for c in range(3):
        assert torch.allclose(y[0, c], torch.tensor((0.0 - B.MEAN[c]) / B.STD[c]))
        assert torch.allclose(y[1, c], torch.tensor((1.0 - B.MEAN[c]) / B.STD[c]))
    # numpy input accepted; channel order preserved
    arr = np.zeros((1, 64, 64, 3), dtype=np.uint8)
    arr[..., 2] = 255
    z = B.preprocess(arr)
    assert z[0, 2].min() > z[0, 0].max()
    with pytest.raises(ValueError):
        B.preprocess(torch.zeros((1, 64, 64, 3), dtype=torch.float32))
    with pytest.raises(ValueError):
        B.preprocess(torch.zeros((1, 3, 64, 64), dtype=torch.uint8))


def test_build_model_with_pruned_widths() -> None:
    """Structured pruning contract: smaller widths give a working, smaller model."""
    m = B.build_model(widths=(16, 32, 64, 64, 96)).eval()
    assert B.count_parameters(m) < B.count_parameters(B.build_model())
    with torch.no_grad():
        assert m(torch.zeros(3, 3, 64, 64)).shape == (3, B.NUM_CLASSES)
    kinds = {type(mod).__name__ for mod in m.modules()} - {"Sequential", "BaselineCNN"}
    assert kinds <= {"Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d", "AdaptiveMaxPool2d", "Linear"}


def test_shared_dir_is_the_checkout_or_the_bundle(tmp_path, monkeypatch) -> None:
    """An editable install finds the checkout's files; a wheel install (the candidate
    container) finds the bundle's, via PROCTOR_BUNDLE or a notebook's cwd."""
    monkeypatch.delenv("PROCTOR_BUNDLE", raising=False)
    checkout = B.SHARED_DIR.parent.parent
    assert B._shared_dir(checkout) == checkout / "exercises" / "_shared"
    assert (B.SHARED_DIR / "baseline_cnn.pt").is_file()
    site = tmp_path / "site-packages"  # a wheel install: no exercises/ beside the package
    site.mkdir()
    bundle = tmp_path / "bundle"
    (bundle / "notebooks").mkdir(parents=True)
    monkeypatch.chdir(bundle / "notebooks")
    assert B._shared_dir(site) == bundle / "exercises" / "_shared"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROCTOR_BUNDLE", str(bundle))
    assert B._shared_dir(site) == bundle / "exercises" / "_shared"
    assert B._shared_dir(checkout) == bundle / "exercises" / "_shared"  # explicit bundle wins
