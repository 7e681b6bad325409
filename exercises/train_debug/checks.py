"""Public checks for train_debug: the interface on a few public crops (names, shapes, exact
dtypes where the prompt states them, what evaluate's accuracy means). It says nothing about
the bugs: that is the exercise."""

import sys
import types

import numpy as np

from proctor.checks import check
from proctor.checks.asserts import as_array

TRAIN_SEED, VAL_SEED = 2024, 2025  # the public seeds of the prompt and starter


def _data(ctx) -> types.ModuleType:
    """exercises/train_debug/data.py, executed once per process (its crop cache with it)."""
    path = ctx.exercise.public_dir / "data.py"
    key = f"_proctor_train_debug_data:{path}"
    if key not in sys.modules:
        module = types.ModuleType("train_debug_data")
        module.__file__ = str(path)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
        sys.modules[key] = module
    return sys.modules[key]


def _finite_float(value, what: str) -> float:
    ok = isinstance(value, (int, float)) or (
        isinstance(value, np.ndarray) and value.shape == () and value.dtype.kind in "iuf")
    assert ok, f"{what} must be a float, got {type(value).__name__}"
    assert np.isfinite(float(value)), f"{what} is not finite: {value}"
    return float(value)


@check(points=1)
def public_contract(ctx):
    """On public crops: prepare_data's keys, shapes and dtypes (float32 images, int64
    labels); augment's shapes; a Trainer's train_step, train_epoch, evaluate (float32 logits
    [N, 3] and accuracy = the fraction of crops whose largest logit is their label),
    learning_rate, state_dict (arrays in the model's dtypes: float32, int64
    num_batches_tracked) and its round trip; fit(epochs=1): one val_accuracy entry, which is
    evaluate's accuracy of the returned state_dict on the validation split."""
    data = _data(ctx)
    train, train_y = data.shape_crops(40, TRAIN_SEED)
    val, val_y = data.shape_crops(20, VAL_SEED)
    d = ctx.candidate.prepare_data(train, train_y, val, val_y)
    assert isinstance(d, dict), f"prepare_data must return a dict, got {type(d).__name__}"
    for key, n in (("train_x", len(train)), ("val_x", len(val))):
        assert key in d, f"prepare_data's dict lacks {key!r}"
        arr = as_array(d[key], f"prepare_data(...)[{key!r}]", "f", (n, 3, data.CROP, data.CROP))
        assert arr.dtype == np.float32, (
            f"prepare_data(...)[{key!r}] must be float32, got {arr.dtype}")
    for key, want in (("train_y", train_y), ("val_y", val_y)):
        assert key in d, f"prepare_data's dict lacks {key!r}"
        labels = as_array(d[key], f"prepare_data(...)[{key!r}]", "iu", want.shape)
        assert labels.dtype == np.int64, (
            f"prepare_data(...)[{key!r}] must be int64, got {labels.dtype}")
        assert np.array_equal(labels, want), f"prepare_data(...)[{key!r}] must be the labels"

    xb, tb = d["train_x"][:16], data.one_hot(d["train_y"][:16])
    out = ctx.candidate.augment(xb, tb, 0)
    assert isinstance(out, (list, tuple)) and len(out) == 2, "augment must return (images, targets)"
    as_array(out[0], "augment(...)[0]", "f", xb.shape)
    as_array(out[1], "augment(...)[1]", "f", tb.shape)

    trainer = ctx.candidate.Trainer(epochs=2, seed=0)
    _finite_float(trainer.learning_rate(), "Trainer.learning_rate()")
    _finite_float(trainer.train_step(*out), "Trainer.train_step(x, targets)")
    _finite_float(trainer.train_epoch(d["train_x"], d["train_y"], 0), "Trainer.train_epoch(...)")
    result = trainer.evaluate(d["val_x"], d["val_y"])
    assert isinstance(result, dict) and {"logits", "accuracy"} <= set(result), (
        "Trainer.evaluate must return a dict with 'logits' and 'accuracy'")
    logits = as_array(result["logits"], "evaluate(...)['logits']", "f", (len(val), 3))
    assert logits.dtype == np.float32, (
        f"evaluate(...)['logits'] must be float32, got {logits.dtype}")
    accuracy = _finite_float(result["accuracy"], "evaluate(...)['accuracy']")
    want = float((logits.argmax(axis=1) == val_y).mean())
    assert abs(accuracy - want) <= 1e-6, (
        f"evaluate(...)['accuracy'] is {accuracy:.6g}, but {want:.6g} of the crops have their "
        "largest logit at their label (accuracy is a fraction in [0, 1])")
    state = trainer.state_dict()
    assert isinstance(state, dict) and state, "Trainer.state_dict() must return a non-empty dict"
    for k, v in state.items():
        want_dtype = np.int64 if k.endswith("num_batches_tracked") else np.float32
        assert as_array(v, f"state_dict()[{k!r}]", "biuf").dtype == want_dtype, (
            f"state_dict()[{k!r}] must be a {np.dtype(want_dtype)} array (the model's own "
            f"dtype), got {v.dtype}")
    other = ctx.candidate.Trainer(epochs=2, seed=1)
    other.load_state_dict(state)
    again = other.state_dict()
    assert set(again) == set(state) and all(np.array_equal(again[k], state[k]) for k in state), (
        "load_state_dict(state_dict()) on another Trainer must give back the same state")

    fitted = ctx.candidate.fit(train, train_y, val, val_y, epochs=1, seed=0)
    assert isinstance(fitted, dict) and {"state_dict", "val_accuracy"} <= set(fitted), (
        "fit must return a dict with 'state_dict' and 'val_accuracy'")
    history = fitted["val_accuracy"]
    assert isinstance(history, list) and len(history) == 1, (
        "fit(..., epochs=1)['val_accuracy'] must be a list of one accuracy per epoch")
    last = _finite_float(history[-1], "fit(...)['val_accuracy'][-1]")
    fresh = ctx.candidate.Trainer(epochs=1, seed=0)
    fresh.load_state_dict(fitted["state_dict"])
    want = _finite_float(fresh.evaluate(d["val_x"], d["val_y"])["accuracy"],
                         "evaluate(...)['accuracy']")
    assert abs(last - want) <= 1e-9, (
        f"fit(..., epochs=1)['val_accuracy'][-1] is {last:.6g}, but evaluate() of the returned "
        f"state_dict on the {len(val)} validation crops (prepared by prepare_data) gives "
        f"{want:.6g}: each epoch's entry is evaluate's accuracy on the validation split")
