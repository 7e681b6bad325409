"""Helpers shared by the checks of the edge exercises (onnx_export, quantize_int8, prune).

Trusted-side code: it runs in the grader process (and in ``check()`` in your notebook).
It never parses a model: everything about the model comes from the runner
(``onnx_runner.py``) through ``ctx.candidate`` / ``ctx.reference``, as plain data.  Only
byte sizes are read here, with ``stat``.  numpy only (no torch), so the preprocessing
below is the numpy twin of ``proctor.baseline.preprocess``, with the constants recorded in
``baseline.json`` next to this file.

Not a package module: each checks.py executes it once per process into a module of its
own (``_edge()`` in the public checks), writing no bytecode; its caches are shared by the
three edge exercises.
"""

from __future__ import annotations

import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

from proctor.datasets import classification
from proctor.testing import as_array

SHARED = Path(__file__).resolve().parent
META_FILE = "baseline.json"
IMAGE_SHAPE = (64, 64, 3)
EVAL_BATCH = 200


@cache
def meta() -> dict:
    """The baseline's training record (``baseline.json``): preprocessing constants, public
    seed and size, parameter count, accuracies."""
    return json.loads((SHARED / META_FILE).read_text())


def num_classes() -> int:
    return int(meta().get("num_classes", 8))


@cache
def _preprocess_lut() -> np.ndarray:
    """[3, 256] float32 ``(v / 255 - MEAN[c]) / STD[c]`` per byte ``v``, by the same float32
    operations as the formula: a lookup is bit-identical and ~7x faster on 2,000 images."""
    p = meta()["preprocess"]
    v = np.arange(256, dtype=np.uint8).astype(np.float32) / np.float32(255)
    lut = ((v[None, :] - np.asarray(p["mean"], dtype=np.float32)[:, None])
           / np.asarray(p["std"], dtype=np.float32)[:, None]).astype(np.float32)
    lut.setflags(write=False)
    return lut


def preprocess(images: np.ndarray) -> np.ndarray:
    """uint8 NHWC [B, 64, 64, 3] -> float32 NCHW ``(x / 255 - MEAN) / STD`` (numpy)."""
    images = np.asarray(images, dtype=np.uint8)
    b, h, w, c = images.shape
    lut, out = _preprocess_lut(), np.empty((b, c, h, w), dtype=np.float32)
    for k in range(c):
        out[:, k] = lut[k][images[..., k]]
    return out


@cache
def _public_full() -> tuple[np.ndarray, np.ndarray]:
    """The whole public split, read-only: the same for every exercise and submission."""
    pub = meta()["public"]
    split = classification(int(pub["n"]), int(pub["seed"]))
    for a in split:
        a.setflags(write=False)
    return split


def public_split(n: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The public split's first ``n`` images, read-only (a prefix of the cached split)."""
    pub = meta()["public"]
    n = int(n or pub["n"])
    if n > int(pub["n"]):
        return classification(n, int(pub["seed"]))
    return tuple(a[:n] for a in _public_full())


def hidden_split(ctx, n: int, salt: str = "data") -> tuple[np.ndarray, np.ndarray]:
    """``n`` images from a seed derived from the exercise's (hidden) seed."""
    seed = int(ctx.rng(salt).integers(1 << 31))
    return classification(n, seed)


# -- what describe() says ---------------------------------------------------------------

def batch_dim(desc: dict):
    """The model input's first dim: an int (static), a str (symbolic) or None."""
    shape = (desc.get("inputs") or [{}])[0].get("shape")
    return shape[0] if shape else None


def feed_batch(desc: dict, default: int = EVAL_BATCH) -> int:
    """The batch size to feed: the static one if the model has one, else ``default``."""
    b = batch_dim(desc)
    return b if isinstance(b, int) and b > 0 else default


def io_problems(desc: dict, in_name: str | None, in_dtype: str, in_dims: tuple,
                out_name: str | None) -> list[str]:
    """What is wrong with the model's single input/output, compared with the contract
    (``in_dims`` are the dims after the batch dim; the output is float32 [B, classes])."""
    problems = []
    ins, outs = desc.get("inputs", []), desc.get("outputs", [])
    if len(ins) != 1:
        problems.append(f"expected 1 input, found {len(ins)}: {[i['name'] for i in ins]}")
    if len(outs) < 1:
        problems.append("the model has no output")
    if problems:
        return problems
    i, o = ins[0], outs[0]
    if in_name is not None and i["name"] != in_name:
        problems.append(f"input is named {i['name']!r}, expected {in_name!r}")
    if i["dtype"] != in_dtype:
        problems.append(f"input {i['name']!r} is {i['dtype']}, expected {in_dtype}")
    shape = i["shape"]
    if shape is None or len(shape) != 1 + len(in_dims) or tuple(shape[1:]) != tuple(in_dims):
        problems.append(f"input {i['name']!r} has shape {shape}, expected "
                        f"[B, {', '.join(str(d) for d in in_dims)}]")
    if out_name is not None and o["name"] != out_name:
        problems.append(f"first output is named {o['name']!r}, expected {out_name!r}")
    if o["dtype"] != "float32":
        problems.append(f"output {o['name']!r} is {o['dtype']}, expected float32")
    oshape = o["shape"]
    if oshape is not None and (len(oshape) != 2 or oshape[1] != num_classes()):
        problems.append(f"output {o['name']!r} has shape {oshape}, expected "
                        f"[B, {num_classes()}]")
    return problems


def check_logits(out, batch: int, what: str = "logits") -> np.ndarray:
    """A model output as a finite float array [batch, classes] (AssertionError if not)."""
    out = as_array(out, what, "f", (batch, num_classes()))
    if not np.isfinite(out).all():
        raise AssertionError(f"{what} contains NaN or inf")
    return out


def plausible_output(got, want) -> None:
    """``compare`` for latency checks of a *different* model than the reference: the
    timed output must be a finite float array of the reference's shape (accuracy is
    checked on its own, on 2,000 hidden images)."""
    want = np.asarray(want)
    check_logits(got, want.shape[0], "timed output")


def run_logits(proxy, x: np.ndarray, desc: dict) -> np.ndarray:
    """Logits of ``x`` in batches of :data:`EVAL_BATCH`, or of the model's static batch
    size if it has one (the last batch then padded, and the padding dropped again)."""
    batch = feed_batch(desc)
    static = isinstance(batch_dim(desc), int)
    outs = []
    for s in range(0, len(x), batch):
        chunk = x[s:s + batch]
        n = len(chunk)
        if static and n < batch:
            chunk = np.concatenate([chunk, np.repeat(chunk[-1:], batch - n, axis=0)])
        out = check_logits(proxy.logits(chunk), len(chunk), f"logits of a batch of {len(chunk)}")
        outs.append(out[:n])
    return np.concatenate(outs)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(1) == labels).mean())


# -- sizes ------------------------------------------------------------------------------

def _regular(path: Path) -> int:
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise AssertionError(f"{path.name} is not a regular file")
    return st.st_size


def artifact_bytes(folder: Path, desc: dict) -> tuple[int, dict[str, int]]:
    """Bytes on disk of the model file plus each external-data file it names, read with
    ``lstat`` under ``folder`` (locations re-checked here: relative, inside, no links)."""
    folder = Path(folder)
    files = {desc["file"]: _regular(folder / desc["file"])}
    for loc in desc.get("external_data", []):
        rel = Path(loc)
        path = folder / rel
        if (rel.is_absolute() or ".." in rel.parts
                or not path.resolve().is_relative_to(folder.resolve())):
            raise AssertionError(f"external data location {loc!r} is outside the artifact "
                                 "folder")
        files[loc] = _regular(path)
    return sum(files.values()), files


def reference_model_file(ex) -> Path:
    """The baseline model file in the exercise's reference dir (the only ``*.onnx``)."""
    ref_dir = (ex.public_dir / ex.spec.reference_artifact).resolve()
    if (ref_dir / "model.onnx").is_file():
        return ref_dir / "model.onnx"
    found = sorted(ref_dir.glob("*.onnx"))
    if len(found) != 1:
        raise RuntimeError(f"{ref_dir}: expected one .onnx file, found {len(found)}")
    return found[0]


# -- checks shared by quantize_int8 and prune ---------------------------------------------

BASELINE_INPUT = (3, 64, 64)


def loads(ctx) -> None:
    """describe() works and one batch of preprocessed public images runs."""
    desc = ctx.candidate.describe()
    images, _ = public_split(feed_batch(desc, 1))
    check_logits(ctx.candidate.logits(preprocess(images)), len(images))


def same_io_as_baseline(ctx) -> None:
    problems = io_problems(ctx.candidate.describe(), None, "float32", BASELINE_INPUT, None)
    b = batch_dim(ctx.candidate.describe())
    if isinstance(b, int):
        problems.append(f"the batch dimension is fixed at {b}; keep it dynamic like the "
                        "baseline's")
    if problems:
        raise AssertionError("; ".join(problems))


def public_accuracy(ctx, max_drop_points: float) -> None:
    """Accuracy on the public split within ``max_drop_points`` of the baseline's record."""
    images, labels = public_split()
    acc = accuracy(run_logits(ctx.candidate, preprocess(images), ctx.candidate.describe()),
                   labels)
    base = meta()["public"]["accuracy_onnx"]
    drop = 100 * (base - acc)
    if drop > max_drop_points:
        raise AssertionError(
            f"accuracy on the {len(labels)} public images is {acc:.4f}, {drop:.2f} points "
            f"below the fp32 baseline's {base:.4f} (at most {max_drop_points:g} allowed)")


def size_ratio(ctx, budget_name: str):
    """Outcome: bytes of the model (+ external data) / bytes of the baseline file."""
    from proctor.checks import Outcome

    budget = ctx.budget(budget_name)
    total, files = artifact_bytes(ctx.artifact_dir, ctx.candidate.describe())
    ref = reference_model_file(ctx.exercise).stat().st_size
    ratio = total / ref
    measured = {"bytes": total, "files": files, "baseline_bytes": ref, "ratio": round(ratio, 4)}
    ok = ratio <= budget.max
    msg = (f"{total:,} bytes = {ratio:.3f}x the fp32 baseline's {ref:,} "
           f"({'within' if ok else 'over'} the {budget.max:g}x budget)")
    return Outcome("pass" if ok else "fail", msg, measured, budget.as_dict())


def accuracy_drop(ctx, budget_name: str, n: int):
    """Outcome: reference accuracy minus candidate accuracy (points) on ``n`` hidden
    images, both models on the same images in the same run."""
    from proctor.checks import Outcome

    budget = ctx.budget(budget_name)
    images, labels = hidden_split(ctx, n)
    x = preprocess(images)
    # the two models are in two workers: evaluated side by side, on two cores if free
    with ThreadPoolExecutor(1) as pool:
        ref_logits = pool.submit(run_logits, ctx.reference, x, ctx.reference.describe())
        cand = run_logits(ctx.candidate, x, ctx.candidate.describe())
        ref = ref_logits.result()
    ref_acc, cand_acc = accuracy(ref, labels), accuracy(cand, labels)
    drop = 100 * (ref_acc - cand_acc)
    rp, cp = ref.argmax(1), cand.argmax(1)
    fixed = int(((cp == labels) & (rp != labels)).sum())
    broken = int(((cp != labels) & (rp == labels)).sum())
    # paired difference: its variance comes from the images the two models disagree on
    se = 100 * float(np.sqrt(max(broken + fixed - (broken - fixed) ** 2 / n, 0.0))) / n
    measured = {"accuracy": round(cand_acc, 4), "baseline_accuracy": round(ref_acc, 4),
                "drop_points": round(drop, 2),
                "drop_interval_95": [round(drop - 1.96 * se, 2), round(drop + 1.96 * se, 2)],
                "images": n, "top1_agreement": round(float((rp == cp).mean()), 4),
                "fixed": fixed, "broken": broken}
    ok = drop <= budget.max
    msg = (f"accuracy {cand_acc:.4f} vs fp32 {ref_acc:.4f} on {n} hidden images: "
           f"{drop:+.2f} points {'drop' if drop >= 0 else '(a gain)'}, "
           f"{'within' if ok else 'over'} the {budget.max:g}-point budget")
    return Outcome("pass" if ok else "fail", msg, measured, budget.as_dict())


def latency(ctx, budget_name: str, batch: int = 1, repeat: int = 8, pool: int = 256):
    """ctx.latency of ``logits`` on ``batch`` preprocessed hidden images per call, each call
    running the model ``repeat`` times on its input (the runner's ``repeat``: the pipe's
    fixed cost per call would otherwise pull every ratio towards 1).  Inputs are fresh for
    every call: pool images with +-1 grey-level noise.  Candidate vs the baseline."""
    images, _ = hidden_split(ctx, pool, "latency")

    def make(rng):
        pick = images[rng.integers(len(images), size=batch)].astype(np.int16)
        pick += rng.integers(-1, 2, pick.shape, dtype=np.int16)
        return (preprocess(np.clip(pick, 0, 255).astype(np.uint8)), repeat)

    return ctx.latency("logits", make, budget=budget_name, compare=plausible_output)
