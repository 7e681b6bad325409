"""Hidden checks for train_debug: each function of the pipeline against its contract, and one
end-to-end run.

Every bug of the starter is a behaviour of one function, and each check looks at one
function in a way the other bugs cannot disturb, so a pipeline with a single bug left fails
exactly one check:

* weights come from the reference (``_reference_state``) and are loaded into fresh
  ``Trainer`` objects, so a check never depends on the candidate's own training;
* ``train_step`` is compared with the reference on the *first* step of a fresh trainer
  (stale gradients cannot show yet), and the gradient bookkeeping of two steps is checked
  against the candidate's own loss (SGD-with-momentum arithmetic, whatever the loss);
* the schedule is read through ``learning_rate()``, which neither the loss nor the
  gradients change, and the rate each epoch's step applies is read from one-batch epochs
  on weights whose loss gradient is exactly 0 (a saturated classifier: the step is weight
  decay and momentum alone, so stale gradients cannot show), against the candidate's own
  step on a fresh Trainer;
* train_epoch's batching is read from BatchNorm's ``num_batches_tracked`` and from epochs
  on one-label data (so pairing images with labels, the end-to-end check's, cannot show);
* augment's flips (direction, rate) and mixup weights are read back from one-pixel images
  and judged with bounds that a correct augment breaks with probability below 1e-6; its
  target consistency is judged on images that every flip leaves unchanged;
* the end-to-end accuracy is measured by the reference (its normalisation, inference
  mode), with a bar every single-bug pipeline clears (worst ~0.70, reference ~0.86) and
  a pipeline that trains on mismatched labels does not (~0.35; see the calibration notes
  in reference_solutions/train_debug/NOTES.md).

Data are crops of hidden detection images, made by exercises/train_debug/data.py; nothing
on the grader's side needs torch.
"""

import math
import sys
import types

import numpy as np

from proctor.checks import Outcome, check
from proctor.checks.asserts import as_array

MOMENTUM = 0.9  # the optimiser's, as the prompt states
REL = 1e-4  # values vs the reference: |got - want| <= REL * (1 + |want|)
STEP_REL = 1e-3  # weight changes: within STEP_REL of the largest change of the tensor ...
STEP_FLOOR = 1e-6  # ... plus STEP_FLOOR times its largest value (float32 rounding)
LR_REL = 1e-6
LR_APPLIED_REL = 1e-2  # the learning rate a step applied, estimated from its change
MIX_ATOL = 1e-5
BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
BATCH_SIZE = 64  # train_epoch's mini-batches, as the prompt states
MIXUP_P, MIXUP_ALPHA = 0.5, 0.2  # augment's, as the prompt states
EPOCH_AUG_TRIES = 16  # train_epoch_batches: one-batch epochs, one of which must be augmented
HIDDEN_IMAGES = 240  # ~820 crops (+-30) for the per-function checks
E2E_IMAGES = {"train": 600, "val": 100, "test": 300}


def _grader_data(ctx) -> types.ModuleType:
    """The public data helpers (exercises/train_debug/data.py), loaded once per grading process
    under the same sys.modules key as the public checks use, so both share one crop cache."""
    path = ctx.exercise.public_dir / "data.py"
    key = f"_proctor_train_debug_data:{path}"
    if key not in sys.modules:
        module = types.ModuleType("train_debug_data")
        module.__file__ = str(path)
        exec(compile(path.read_text(), str(path), "exec"), module.__dict__)
        sys.modules[key] = module
    return sys.modules[key]


def _data_seed(ctx, salt: int) -> int:
    """A data seed from the hidden seed alone (not the check id), so that checks share crops."""
    return int(np.random.default_rng([ctx.seed, salt]).integers(2**31))


def _normalised(train_images: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """What a correct prepare_data computes, as float32 NCHW: every array scaled to [0, 1]
    and normalised per channel with the training images' mean and standard deviation."""
    def to_float(images: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=np.float32) / 255

    train = to_float(train_images)
    mean = train.mean(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)[:, None, None]
    std = train.std(axis=(0, 2, 3), dtype=np.float64).astype(np.float32)[:, None, None]
    return [(train - mean) / std] + [(to_float(o) - mean) / std for o in others]


def _hidden_set(ctx) -> tuple[np.ndarray, np.ndarray]:
    """~820 hidden crops, prepared (float32 NCHW, normalised as prepare_data must), and their
    labels: the first 640 train the reference state, the rest are evaluated."""
    data = _grader_data(ctx)
    images, labels = data.shape_crops(HIDDEN_IMAGES, _data_seed(ctx, 1))
    return _normalised(images)[0], np.asarray(labels)


def _reference_state(ctx, x: np.ndarray, y: np.ndarray) -> dict:
    """Weights and BatchNorm statistics after one reference epoch on 640 crops (10 steps):
    running statistics far from a batch's, logits far from uniform. The same for every
    solution graded in this process, so computed once (beside the crop cache)."""
    states = _grader_data(ctx).__dict__.setdefault("reference_states", {})
    if ctx.seed not in states:
        trainer = ctx.reference.Trainer(epochs=5, seed=0)
        trainer.train_epoch(x[:640], y[:640], 1)
        states[ctx.seed] = _as_state(trainer.state_dict(), "reference state_dict()")
    return states[ctx.seed]


def _hidden_batch(ctx, x: np.ndarray, y: np.ndarray, soft: bool) -> tuple[np.ndarray, np.ndarray]:
    """64 crops with one-hot targets, or with each blended with another crop (mixup-like)."""
    rng = ctx.rng("batch")
    idx = rng.choice(len(x), 64, replace=False)
    xb, tb = x[idx], _grader_data(ctx).one_hot(y[idx])
    if soft:
        lam = rng.uniform(0.2, 0.8, 64).astype(np.float32)
        partner = rng.permutation(64)
        xb = lam[:, None, None, None] * xb + (1 - lam[:, None, None, None]) * xb[partner]
        tb = lam[:, None] * tb + (1 - lam[:, None]) * tb[partner]
    return xb.astype(np.float32), tb.astype(np.float32)


def _symmetric_copies(ctx, x: np.ndarray, y: np.ndarray, n: int, which: int = 0
                      ) -> tuple[np.ndarray, np.ndarray]:
    """``n`` copies of one hidden crop made mirror-symmetric both ways (exactly, in float32)
    and its label: shuffling them, flipping them and blending them with each other change
    nothing (up to float rounding), so train_epoch on them is train_step on them."""
    i = int(ctx.rng("symmetric").permutation(len(x))[which])
    c = x[i]
    c = (c + c[:, :, ::-1]) / 2
    c = (c + c[:, ::-1, :]) / 2
    return (np.repeat(c[None], n, axis=0).astype(np.float32),
            np.full(n, y[i], dtype=np.int64))


# ------------------------------------------------------------------ comparisons


def _load_state(trainer, state: dict) -> None:
    """Load a float64 state dict (as _as_state keeps them) in the model's own dtypes (exact)."""
    trainer.load_state_dict({k: v.astype(np.int64 if k.endswith("num_batches_tracked")
                                         else np.float32) for k, v in state.items()})


def _as_state(value, what: str, like: dict | None = None) -> dict:
    """A state dict as {name: float64 array}, with ``like``'s names and shapes if given."""
    assert isinstance(value, dict), f"{what} must be a dict of arrays, got {type(value).__name__}"
    out = {k: as_array(v, f"{what}[{k!r}]", "biuf").astype(np.float64) for k, v in value.items()}
    if like is not None:
        assert set(out) == set(like), (
            f"{what} has keys {sorted(set(out) ^ set(like))[:6]} where the model of the "
            "starter does not (or lacks them): keep build_model's architecture")
        for k, v in like.items():
            assert out[k].shape == v.shape, (
                f"{what}[{k!r}] has shape {out[k].shape}, expected {v.shape}")
    return out


def _assert_close(got, want: np.ndarray, what: str, rel: float = REL) -> None:
    got = as_array(got, what, "biuf", want.shape).astype(np.float64)
    assert np.isfinite(got).all(), f"{what}: non-finite values"
    err = np.abs(got - want)
    bad = err > rel * (1 + np.abs(want))
    if bad.any():
        i = tuple(int(j) for j in np.argwhere(bad)[0])
        raise AssertionError(f"{what}: {int(bad.sum())} of {bad.size} values differ by more than "
                             f"{rel:g} (relative); first at {i}: got {got[i]:.6g}, expected "
                             f"{want[i]:.6g}; max difference {err.max():.3g}")


def _change_ratio(got: dict, want: dict, before: dict) -> float:
    """The largest difference between the changes ``got - before`` and ``want - before`` of a
    tensor, in units of _assert_same_change's tolerance (<= 1: the same change)."""
    worst = 0.0
    for k in want:
        d_got, d_want = got[k] - before[k], want[k] - before[k]
        tol = STEP_REL * np.abs(d_want).max() + STEP_FLOOR * max(1.0, np.abs(want[k]).max())
        worst = max(worst, float(np.abs(d_got - d_want).max() / tol))
    return worst


def _assert_same_change(got: dict, want: dict, before: dict, what: str) -> None:
    """Each tensor's change from ``before`` matches the expected change within STEP_REL of its
    largest expected change plus STEP_FLOOR times its largest value."""
    for k in want:
        d_got, d_want = got[k] - before[k], want[k] - before[k]
        tol = STEP_REL * np.abs(d_want).max() + STEP_FLOOR * max(1.0, np.abs(want[k]).max())
        err = np.abs(d_got - d_want).max()
        assert err <= tol, (
            f"{what}: {k} changed by up to {np.abs(d_got).max():.3g} where "
            f"{np.abs(d_want).max():.3g} was expected; the changes differ by {err:.3g} "
            f"(tolerance {tol:.3g})")


# ------------------------------------------------------------------ evaluate


@check(points=3)
def evaluate_inference_mode(ctx):
    """evaluate() on hidden crops with reference weights: logits equal the reference's
    (inference mode), do not depend on the rest of the batch (a batch of one), are the same
    twice; evaluate changes no weight or statistic, and a train_step after it equals one on a
    fresh trainer with the same weights."""
    x, y = _hidden_set(ctx)
    state = _reference_state(ctx, x, y)
    xv, yv = x[640:], y[640:]
    ref = ctx.reference.Trainer()
    _load_state(ref, state)
    want = as_array(ref.evaluate(xv, yv)["logits"], "reference logits", "f").astype(np.float64)

    cand = ctx.candidate.Trainer()
    _load_state(cand, state)
    first = cand.evaluate(xv, yv)
    assert isinstance(first, dict) and "logits" in first, (
        "evaluate must return a dict with 'logits'")
    _assert_close(first["logits"], want,
                  f"evaluate({len(xv)} hidden crops)['logits'] vs the reference")
    _assert_close(cand.evaluate(xv, yv)["logits"], want, "a second evaluate() of the same crops")
    _assert_close(cand.evaluate(xv[:1], yv[:1])["logits"], want[:1], "evaluate(one crop)['logits']")
    after = _as_state(cand.state_dict(), "state_dict() after evaluate", like=state)
    for k, v in state.items():
        assert np.array_equal(after[k], v), (
            f"evaluate() changed {k} (max change {np.abs(after[k] - v).max():.3g}): evaluating "
            "must not modify the model")

    xb, tb = _hidden_batch(ctx, x, y, soft=False)
    cand.train_step(xb, tb)
    fresh = ctx.candidate.Trainer()
    _load_state(fresh, state)
    fresh.train_step(xb, tb)
    want_step = _as_state(fresh.state_dict(), "state_dict()", like=state)
    _assert_same_change(_as_state(cand.state_dict(), "state_dict()", like=state), want_step, state,
                 "train_step after evaluate vs train_step on a fresh Trainer")


# ------------------------------------------------------------------ train_step


def _conv_scaled(state: dict, factor: float) -> dict:
    """``state`` with every convolution's weights (4-D; each feeds a BatchNorm, so the
    model's outputs and the loss do not change) times ``factor``: their gradient shrinks by
    ``factor`` and their weight decay grows by it, so the decay dominates their update."""
    return {k: v * factor if v.ndim == 4 else v for k, v in state.items()}


@check(points=3)
def train_step_update(ctx):
    """One train_step from reference weights on a hidden batch (one-hot targets from weights
    whose convolutions are scaled x30 so that the weight decay dominates their update, then
    one-hot and blended targets from the reference weights), each on a fresh Trainer: the
    returned loss and every changed weight and BatchNorm statistic equal the reference's."""
    x, y = _hidden_set(ctx)
    base = _reference_state(ctx, x, y)
    for soft, scaled in ((False, True), (False, False), (True, False)):
        state = _conv_scaled(base, 30.0) if scaled else base
        xb, tb = _hidden_batch(ctx, x, y, soft)
        what = "train_step(64 crops, " + ("blended targets" if soft else "one-hot targets") + (
            ", convolution weights x30: the weight decay dominates their update)" if scaled
            else ")")
        ref = ctx.reference.Trainer()
        _load_state(ref, state)
        want_loss = float(ref.train_step(xb, tb))
        want = _as_state(ref.state_dict(), "reference state_dict()")
        cand = ctx.candidate.Trainer()
        _load_state(cand, state)
        loss = cand.train_step(xb, tb)
        assert isinstance(loss, (int, float)) or (
            isinstance(loss, np.ndarray) and loss.shape == () and loss.dtype.kind in "iuf"), (
            f"{what} must return the loss as a float, got {type(loss).__name__}")
        _assert_close(np.asarray(loss, dtype=np.float64), np.array(want_loss),
                      f"{what}: returned loss")
        got = _as_state(cand.state_dict(), "state_dict() after train_step", like=state)
        _assert_same_change(got, want, state, f"{what}: weights after the step vs the reference's")


@check(points=3)
def consecutive_steps(ctx):
    """Two train_steps on the same hidden batch: the second one's change equals
    MOMENTUM x the first one's plus the change a fresh Trainer makes from the weights in
    between (torch.optim.SGD with momentum); BatchNorm statistics equal the fresh Trainer's.
    Computed from the candidate's own steps, so any loss passes."""
    x, y = _hidden_set(ctx)
    state = _reference_state(ctx, x, y)
    xb, tb = _hidden_batch(ctx, x, y, soft=True)
    cand = ctx.candidate.Trainer()
    _load_state(cand, state)
    cand.train_step(xb, tb)
    s1 = _as_state(cand.state_dict(), "state_dict() after one step", like=state)
    cand.train_step(xb, tb)
    s2 = _as_state(cand.state_dict(), "state_dict() after two steps", like=state)
    fresh = ctx.candidate.Trainer()
    _load_state(fresh, s1)
    fresh.train_step(xb, tb)
    single = _as_state(fresh.state_dict(), "fresh Trainer's state_dict()", like=state)
    expected = {k: single[k] + (0 if k.endswith(BUFFERS) else MOMENTUM * (s1[k] - state[k]))
                for k in state}
    _assert_same_change(s2, expected, s1, "second train_step on the same batch vs momentum x the "
                 "first step + a fresh Trainer's step from the weights in between")


# ------------------------------------------------------------------ train_epoch


@check(points=1)
def train_epoch_batches(ctx):
    """train_epoch's pass on its own, on hidden crops that all get the same label (so
    whether each image keeps its label, which the end-to-end check judges, cannot show),
    each time on a fresh Trainer with reference weights:

    * 2 x 64 + 40 crops: exactly 2 training steps (BatchNorm's num_batches_tracked grows by
      2): floor(N / BATCH_SIZE) mini-batches, the last partial one dropped;
    * 64 crops (one mini-batch): with one of 16 seeds at least, the epoch's step differs
      from a train_step on the same crops as they are (each batch is augmented; even an
      augment that flips and blends whole batches at once leaves a batch unchanged, or
      blended with lam within 1e-4 of 0 or 1, with probability below 0.3 per seed:
      0.3**16 < 1e-8);
    * 64 copies of one mirror-symmetric crop, then 64 of another (augmenting a batch of
      copies of one crop changes nothing): the epochs with two seeds differ (the batches mix
      the two crops in a seed-dependent way: the set is shuffled with seed; unshuffled, the
      two batches are the two crops whatever the seed)."""
    x, y = _hidden_set(ctx)
    state = _reference_state(ctx, x, y)
    label = int(y[0])

    def epoch(xs: np.ndarray, seed: int) -> dict:
        trainer = ctx.candidate.Trainer()
        _load_state(trainer, state)
        trainer.train_epoch(xs, np.full(len(xs), label, np.int64), seed)
        return _as_state(trainer.state_dict(), f"state_dict() after train_epoch on {len(xs)} "
                         "crops", like=state)

    n = 2 * BATCH_SIZE + 40
    after = epoch(x[:n], 7)
    counts = {k: int(after[k].item() - state[k].item()) for k in state
              if k.endswith("num_batches_tracked")}
    assert set(counts.values()) == {2}, (
        f"train_epoch on {n} crops made {sorted(set(counts.values()))} training steps "
        f"(BatchNorm's num_batches_tracked grew by that), expected {n // BATCH_SIZE}: "
        f"mini-batches of {BATCH_SIZE}, the last partial one dropped")

    xs = x[n:n + BATCH_SIZE]
    plain = ctx.candidate.Trainer()
    _load_state(plain, state)
    plain.train_step(xs, _grader_data(ctx).one_hot(np.full(len(xs), label)).astype(np.float32))
    plain_state = _as_state(plain.state_dict(), "state_dict() after train_step", like=state)
    seeds = range(20, 20 + EPOCH_AUG_TRIES)
    assert any(_change_ratio(epoch(xs, seed), plain_state, state) > 1 for seed in seeds), (
        f"train_epoch on {BATCH_SIZE} crops (one mini-batch), with {EPOCH_AUG_TRIES} seeds, "
        "always made the same step as train_step on those crops as they are: the batch was "
        "not augmented (each mini-batch must go through augment with one-hot targets before "
        "train_step)")

    a, _ = _symmetric_copies(ctx, x, y, BATCH_SIZE, 0)
    b, _ = _symmetric_copies(ctx, x, y, BATCH_SIZE, 1)
    two = np.concatenate([a, b])
    first, second = epoch(two, 11), epoch(two, 12)
    assert _change_ratio(second, first, state) > 1, (
        f"train_epoch on {BATCH_SIZE} copies of one crop then {BATCH_SIZE} of another gave "
        "the same weights with seeds 11 and 12: the batches do not depend on the seed (the "
        "training set must be shuffled with seed before it is cut into mini-batches)")


# ------------------------------------------------------------------ data


@check(points=3)
def prepare_data_train_statistics(ctx):
    """prepare_data on hidden crops equals the reference's (float32 NCHW, per-channel
    normalisation with the training images' statistics), and the training arrays stay the
    same when only the validation images change."""
    data = _grader_data(ctx)
    train, train_y = data.shape_crops(HIDDEN_IMAGES, _data_seed(ctx, 1))
    val, val_y = data.shape_crops(60, _data_seed(ctx, 2))
    other = (255 - val[:50]).astype(np.uint8)  # inverted colours: other statistics
    want_train, want_val, want_other = _normalised(train, val, other)
    got = ctx.candidate.prepare_data(train, train_y, val, val_y)
    got_other = ctx.candidate.prepare_data(train, train_y, other, val_y[:50])
    for out in (got, got_other):
        assert isinstance(out, dict) and {"train_x", "train_y", "val_x", "val_y"} <= set(out), (
            "prepare_data must return a dict with train_x, train_y, val_x, val_y")
    a = as_array(got["train_x"], "train_x", "f", want_train.shape)
    b = as_array(got_other["train_x"], "train_x", "f", want_train.shape)
    assert np.array_equal(a, b), (
        f"train_x changed (by up to {np.abs(a.astype(float) - b).max():.3g}) when only the "
        "validation images changed: the training inputs must not depend on the validation split")
    _assert_close(a, want_train.astype(np.float64), "train_x vs the reference")
    _assert_close(got["val_x"], want_val.astype(np.float64), "val_x vs the reference")
    _assert_close(got_other["val_x"], want_other.astype(np.float64),
           "val_x (other validation images) vs the reference")
    for key, want in (("train_y", train_y), ("val_y", val_y)):
        labels = as_array(got[key], key, "biuf", want.shape)
        assert np.array_equal(labels, want), f"{key} must be the labels, unchanged"


AUG_CALLS, AUG_BATCH = 600, 16  # augment's randomness: calls, images per call
FALSE_REJECT = 1e-6  # ... its bound on failing a correct augment
AUG_BLEND = (0.02, 0.2)  # ... the blend weights it counts: min(lam, 1 - lam) >= these


def _beta_tail(t: float, a: float) -> float:
    """P(min(lam, 1 - lam) >= t) for lam ~ Beta(a, a), t <= 0.5: 1 - 2 F(t), where F(t) is
    integrated after the substitution u = x**a (smooth: the density's x**(a-1) is gone)."""
    u = np.linspace(0.0, t**a, 20001)
    y = (1 - u ** (1 / a)) ** (a - 1)
    area = float(((y[1:] + y[:-1]) / 2 * np.diff(u)).sum()) / a
    return 1 - 2 * area / math.exp(2 * math.lgamma(a) - math.lgamma(2 * a))


def _augment_distribution(ctx) -> None:
    """augment's randomness (augment_targets' second part), from 600 calls (fresh seeds) on
    16 one-pixel images whose pixel sits in the top-left quadrant: a horizontal flip moves it
    right, a vertical one down, so each output's weights on each input and each flip are
    read back.

    * Flips are horizontal: no output holds a vertically flipped input.
    * Flip rate: the input with the largest weight in an output is flipped with probability
      0.5 (flips, then mixup, or mixup then flips).
    * Mixup: the share of outputs whose smaller blend weight ``min(lam, 1 - lam)`` is at
      least 0.02, and at least 0.2, match MIXUP_P x P(min(lam, 1 - lam) >= t) for
      lam ~ Beta(MIXUP_ALPHA, MIXUP_ALPHA) (0.259 and 0.107; up to 2/16 less for an
      image that draws itself as its partner).

    Each rate is judged on the 600 calls' own rates (independent, whatever the dependence
    between the images of one call: one lam or one flip per batch is fine) with Hoeffding's
    bound: a correct augment fails the check with probability below 1e-6 (1e-6 / 3 per
    rate, a margin of about 0.114). No flips, no mixup, mixup of every image, lam ~
    U(0, 1) or Beta(2, 2) all land well outside it."""
    k = np.arange(AUG_BATCH)
    c, r, w = k % 3, k % 8, k // 8
    x = np.zeros((AUG_BATCH, 3, 16, 16), np.float32)
    x[k, c, r, w] = 1
    t = _grader_data(ctx).one_hot(k % 3).astype(np.float32)
    rows = np.stack([r, r, 15 - r, 15 - r], axis=-1)  # as is, horizontal, vertical, both
    cols = np.stack([w, 15 - w, w, 15 - w], axis=-1)
    rng = ctx.rng("distribution")
    rates = np.zeros((AUG_CALLS, 1 + len(AUG_BLEND)))
    for call in range(AUG_CALLS):
        seed = int(rng.integers(2**31))
        out = ctx.candidate.augment(x, t, seed)
        assert isinstance(out, (list, tuple)) and len(out) == 2, (
            "augment must return (images, targets)")
        xa = as_array(out[0], "augmented images", "f", x.shape).astype(np.float64)
        weights = xa[:, c[:, None], rows, cols]  # [output, input, flip]
        vertical = np.abs(weights[..., 2:]).max(axis=(1, 2)) > MIX_ATOL
        if vertical.any():
            i = int(np.argmax(vertical))
            j = int(np.abs(weights[i, :, 2:]).max(axis=1).argmax())
            raise AssertionError(
                f"augment(seed={seed}): output image {i} holds input image {j} upside down "
                "(rows reversed): the prompt's flips are horizontal (columns reversed, "
                "x[..., ::-1] on NCHW images), never vertical")
        flat = weights.reshape(AUG_BATCH, -1)
        top = flat.argmax(axis=1)
        smaller = 1 - flat.max(axis=1)
        rates[call] = [np.mean(top % 4 == 1)] + [np.mean(smaller >= b) for b in AUG_BLEND]
    margin = math.sqrt(math.log(2 * rates.shape[1] / FALSE_REJECT) / (2 * AUG_CALLS))
    got = rates.mean(axis=0)
    tails = [MIXUP_P * _beta_tail(b, MIXUP_ALPHA) for b in AUG_BLEND]
    bounds = [(0.5 - margin, 0.5 + margin)] + [
        ((1 - 2 / AUG_BATCH) * q - margin, q + margin) for q in tails]
    names = ["outputs whose main image is flipped horizontally"] + [
        f"outputs blended with min(lam, 1 - lam) >= {b:g}" for b in AUG_BLEND]
    wants = ["0.5 (flip probability)"] + [
        f"{q:.3f} (MIXUP_P x P(min(lam, 1 - lam) >= {b:g}), lam ~ Beta({MIXUP_ALPHA:g}, "
        f"{MIXUP_ALPHA:g}))" for b, q in zip(AUG_BLEND, tails, strict=True)]
    for name, value, (lo, hi), want in zip(names, got, bounds, wants, strict=True):
        assert lo <= value <= hi, (
            f"augment over {AUG_CALLS} calls of {AUG_BATCH} images: {value:.3f} of the {name}, "
            f"expected {want}; a correct augment lands in [{max(lo, 0):.3f}, {min(hi, 1):.3f}] "
            f"with probability above 1 - {FALSE_REJECT:g}")


def _orbit(k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Image k's code of _coded_batch: channel k // 16, and the four pixels that a
    horizontal, a vertical or both flips make of pixel (r, w) = (k % 8, k // 8 % 2) of the
    top-left quadrant, as index arrays [len(k), 4]."""
    r, w = k % 8, k // 8 % 2
    rows = np.stack([r, r, 15 - r, 15 - r], axis=-1)
    cols = np.stack([w, 15 - w, w, 15 - w], axis=-1)
    return np.repeat((k // 16)[..., None], 4, axis=-1), rows, cols


def _coded_batch(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """48 images, image k all zeros but the 4 pixels of its code (_orbit), which are ones: no
    flip, horizontal or vertical, changes an image, and any blend of them shows its weights;
    random target rows."""
    x = np.zeros((48, 3, 16, 16), np.float32)
    c, r, w = _orbit(np.arange(48))
    x[np.arange(48)[:, None], c, r, w] = 1
    return x, rng.dirichlet(np.ones(3), 48).astype(np.float32)


@check(points=3)
def augment_targets(ctx):
    """augment's contract. On images whose blend weights can be read back and that flips
    leave unchanged (3 seeds): each output image is a convex combination of (flipped) input
    images, and its target row is the same combination of the input target rows, within
    1e-5. Then its randomness (_augment_distribution): horizontal flips only, at rate 0.5,
    and mixup at rate MIXUP_P with lam ~ Beta(MIXUP_ALPHA, MIXUP_ALPHA), judged with
    bounds that a correct augment misses with probability below 1e-6."""
    rng = ctx.rng()
    c, r, w = _orbit(np.arange(48))
    for seed in rng.integers(2**31, size=3):
        x, t = _coded_batch(rng)
        out = ctx.candidate.augment(x, t, int(seed))
        assert isinstance(out, (list, tuple)) and len(out) == 2, (
            "augment must return (images, targets)")
        xa = as_array(out[0], "augmented images", "f", x.shape).astype(np.float64)
        ta = as_array(out[1], "augmented targets", "f", t.shape).astype(np.float64)
        weights = xa[:, c, r, w].mean(axis=2)  # [48 outputs, 48 inputs]
        rebuilt = np.einsum("ok,kchw->ochw", weights, x.astype(np.float64))
        err = np.abs(rebuilt - xa).max(axis=(1, 2, 3))
        if err.max() > MIX_ATOL or (weights < -MIX_ATOL).any() or \
                np.abs(weights.sum(axis=1) - 1).max() > MIX_ATOL:
            i = int(np.argmax(err + (weights < -MIX_ATOL).any(axis=1)
                              + np.abs(weights.sum(axis=1) - 1)))
            raise AssertionError(
                f"augment(seed={seed}): output image {i} is not a convex combination of "
                "(flipped) input images, as the prompt's augment contract says (its weights "
                f"would be {np.round(weights[i][np.abs(weights[i]) > 1e-6], 4).tolist()}, "
                f"leaving pixels off by up to {err[i]:.3g})")
        want = weights @ t.astype(np.float64)
        err = np.abs(ta - want).max(axis=1)
        if err.max() > MIX_ATOL:
            i = int(err.argmax())
            mix = {int(j): round(float(weights[i, j]), 4)
                   for j in np.flatnonzero(weights[i] > 1e-6)}
            raise AssertionError(
                f"augment(seed={seed}): {int((err > MIX_ATOL).sum())} of 48 target rows are not the"
                f" blend of their images' targets; e.g. output {i} is the blend {mix} of input "
                f"images, its target is {np.round(ta[i], 4).tolist()}, expected "
                f"{np.round(want[i], 4).tolist()}")
    _augment_distribution(ctx)


# ------------------------------------------------------------------ schedule


def _params(state: dict) -> list[str]:
    return [k for k in state if not k.endswith(BUFFERS)]


def _saturated(state: dict) -> dict:
    """``state`` with the classifier (the one 2-D weight) at 0 and its bias at 1e4 for class
    0: the logits of any image are (1e4, 0, 0), whose softmax is exactly (1, 0, 0) in
    float32, so with label 0 the loss and every gradient are exactly 0."""
    out = dict(state)
    for k, v in state.items():
        if v.ndim == 2:
            out[k] = np.zeros_like(v)
            bias = np.zeros(v.shape[0])
            bias[0] = 1e4
            out[k.removesuffix("weight") + "bias"] = bias
    return out


@check(points=3)
def learning_rate_schedule(ctx):
    """The cosine schedule over epochs, as reported and as applied.

    Reported: learning_rate() of Trainer(epochs=4) before training and after each of 3
    train_epoch calls of 5 mini-batches equals the reference's, within 1e-6 relative.
    Applied: 4 train_epoch calls of one mini-batch, from reference weights whose classifier
    is saturated (linear weights 0, bias 1e4 on class 0; all labels 0): the loss and its
    gradient are exactly 0 whatever the batch, so each step is SGD's weight decay and
    momentum alone (and stale gradients, consecutive_steps' business, are zeros). Epoch e's
    change is then ``lr_e * d_e`` with ``d_e = MOMENTUM / lr_(e-1) * (epoch e-1's change) +
    1 / LR * (the change of one train_step of a fresh Trainer from the same weights)``,
    where lr_e is the rate the reference reports after e epochs (constant within an epoch,
    advanced after it); the rate the candidate applied, the least-squares scale of its change
    along d_e over every parameter but the classifier's, must be within 1% of lr_e
    (neighbouring rates differ by 15% or more).
    Computed from the candidate's own steps; when those change nothing (no weight decay:
    train_step_update's business) there is no rate to read and this part passes."""
    x, y = _hidden_set(ctx)
    rates = {}
    for name, side in (("reference", ctx.reference), ("candidate", ctx.candidate)):
        trainer = side.Trainer(epochs=4, seed=0)
        seen = [trainer.learning_rate()]
        for epoch in range(3):
            trainer.train_epoch(x[:320], y[:320], epoch)
            seen.append(trainer.learning_rate())
        rates[name] = seen
    got = as_array(np.array(rates["candidate"], dtype=np.float64), "learning rates", "f")
    want = np.array(rates["reference"], dtype=np.float64)
    bad = np.abs(got - want) > LR_REL * np.abs(want)
    assert not bad.any(), (
        f"learning_rate() before training and after each of 3 epochs of 5 mini-batches: "
        f"{np.round(got, 6).tolist()}, expected {np.round(want, 6).tolist()}")

    ratio = want / want[0]  # lr_e / LR for the steps of epoch e = 0..3 of Trainer(epochs=4)
    state = _saturated(_reference_state(ctx, x, y))
    # the classifier's own decay (0 for its weights, 1e4 x 1.5e-5 for its bias) is below or
    # at float32's resolution there: the rate is read from every other parameter
    classifier = {k for k, v in state.items() if v.ndim == 2}
    classifier |= {k.removesuffix("weight") + "bias" for k in classifier}
    xb, yb = x[:BATCH_SIZE], np.zeros(BATCH_SIZE, np.int64)
    tb = _grader_data(ctx).one_hot(yb).astype(np.float32)
    cand = ctx.candidate.Trainer(epochs=4, seed=0)
    _load_state(cand, state)
    before, previous = state, None
    for epoch in range(4):
        cand.train_epoch(xb, yb, 100 + epoch)
        after = _as_state(cand.state_dict(), f"state_dict() after epoch {epoch}", like=state)
        fresh = ctx.candidate.Trainer(epochs=4, seed=0)
        _load_state(fresh, before)
        fresh.train_step(xb, tb)
        single = _as_state(fresh.state_dict(), "fresh Trainer's state_dict()", like=state)
        direction = {k: single[k] - before[k] + (
            0 if previous is None else MOMENTUM / ratio[epoch - 1] * (before[k] - previous[k]))
            for k in _params(state) if k not in classifier}
        norm = sum(float((direction[k] ** 2).sum()) for k in direction)
        if norm == 0:
            break
        dot = sum(float(((after[k] - before[k]) * direction[k]).sum()) for k in direction)
        applied = dot / norm
        assert abs(applied - ratio[epoch]) <= LR_APPLIED_REL * ratio[epoch], (
            f"the train_step of epoch {epoch} (of 4; train_epoch on {BATCH_SIZE} crops: one "
            f"mini-batch) applied a learning rate of {applied * want[0]:.4g}, but the "
            f"schedule's rate for epoch {epoch} is {want[epoch]:.4g} (what learning_rate() "
            f"reports after {epoch} epochs): the rate stays constant within an epoch and "
            "advances after the pass, and learning_rate() is the rate the optimiser applies")
        before, previous = after, before


# ------------------------------------------------------------------ end to end


@check(points=5, kind="accuracy", budget="fit_accuracy")
def fit_accuracy(ctx):
    """fit() with its defaults on the crops of 600 hidden images (validation: 100 more), then
    the returned weights evaluated by the reference pipeline (training-split normalisation,
    inference mode) on the crops of 300 other hidden images."""
    data = _grader_data(ctx)
    train = data.shape_crops(E2E_IMAGES["train"], _data_seed(ctx, 10))
    val = data.shape_crops(E2E_IMAGES["val"], _data_seed(ctx, 11))
    test_images, test_labels = data.shape_crops(E2E_IMAGES["test"], _data_seed(ctx, 12))
    out = ctx.candidate.fit(*train, *val)
    assert isinstance(out, dict) and "state_dict" in out, (
        "fit must return a dict with 'state_dict'")
    ref = ctx.reference.Trainer()
    like = _as_state(ref.state_dict(), "reference state_dict()")
    state = _as_state(out["state_dict"], "fit(...)['state_dict']", like=like)
    _load_state(ref, state)
    x_test = _normalised(train[0], test_images)[1]
    logits = as_array(ref.evaluate(x_test, test_labels)["logits"], "logits", "f",
                      (len(test_labels), data.NUM_CLASSES))
    accuracy = float((logits.argmax(axis=1) == test_labels).mean())
    budget = ctx.budget("fit_accuracy")
    history = out.get("val_accuracy")
    measured = {"accuracy": round(accuracy, 4), "train_crops": len(train[1]),
                "test_crops": len(test_labels)}
    if isinstance(history, list) and all(isinstance(h, (int, float)) for h in history):
        measured["val_accuracy"] = [round(float(h), 4) for h in history]
    text = (f"accuracy {accuracy:.3f} on {len(test_labels)} hidden test crops after fit() on "
            f"{len(train[1])} crops")
    if accuracy >= budget.min:
        return Outcome("pass", f"{text}, target {budget.min:g}", measured, budget.as_dict())
    return Outcome("fail", f"{text}, below the target {budget.min:g}", measured,
                   budget.as_dict())
