"""Serves one ONNX model file to the checks of the edge exercises (onnx_export,
quantize_int8, prune).

Public, trusted code.  When a submission is graded this file is the only "cell" run in
the sandboxed worker (no candidate code runs for artifact exercises); the checks call
``logits(x)`` and ``describe()`` across the plain-data pipe.  ``check()`` in your
notebook runs it the same way on your saved file.

The model file is untrusted data, so before onnxruntime sees it:

* the model is ``model.onnx`` in the artifact dir, or, when there is none, the dir's only
  ``*.onnx`` file (that is how the fp32 baseline in ``exercises/_shared`` is served);
* it is parsed with ``onnx.load(..., load_external_data=False)`` and every tensor that
  keeps its data outside the file (initializers, node attributes such as ``Constant``,
  sparse tensors, in subgraphs and functions too) must name a relative ``location`` that
  stays inside the artifact dir: no absolute path, no ``..``, no symlink, a regular file,
  and ``offset + length`` within it.  Anything else is a ``ValueError`` naming the
  location, raised before any session exists;
* the session is onnxruntime's ``CPUExecutionProvider`` only, one intra-op and one
  inter-op thread, no custom-op libraries, created lazily on the first call (a broken
  model then fails each check with the same clear message instead of the whole run).

``describe()`` returns plain data about the file (see its docstring), including
``parameters``: the number of elements of every constant tensor stored in the model
(initializers and tensors held in node attributes, e.g. ``Constant`` nodes, in subgraphs
and functions too; dense element counts, so a sparse encoding does not shrink it).  This
counts conv/linear weights and biases, quantization scales and zero points, and a handful
of shape constants; hiding weights in ``Constant`` nodes does not hide them from it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from proctor.candidate import artifact_dir

MODEL_FILE = "model.onnx"
MAX_TENSORS = 20000          # constant tensors describe() will list
MAX_MODEL_BYTES = 1 << 31    # protobuf's own limit

#: Ops whose weight is an input, and the index of that input.
WEIGHT_INPUT = {
    "Conv": 1, "ConvTranspose": 1, "Gemm": 1, "MatMul": 1,
    "ConvInteger": 1, "MatMulInteger": 1, "QLinearConv": 3, "QLinearMatMul": 3,
    "QGemm": 3, "DynamicQuantizeMatMul": 1, "MatMulIntegerToFloat": 1,
    "FusedConv": 1, "FusedGemm": 1, "FusedMatMul": 1,
}
#: Ops a stored weight may pass through on its way to a conv/linear op (data input 0).
WEIGHT_PASS_THROUGH = {"DequantizeLinear", "Identity", "Cast", "Reshape", "Transpose",
                       "Squeeze", "Unsqueeze", "Flatten", "CastLike"}

#: Exercises whose latency budget is about the work, whatever the grading CPU: their
#: sessions run without ONNX Runtime's NCHWc layout transformation, whose channel blocks
#: are 16 wide on AVX-512 and 8 on AVX2, so that a width that is a multiple of 8 but not
#: of 16 costs padding and reorders on one host and not on the other (prune: measured on
#: an AVX-512 host, widths (24, 24, 24, 24, 40) at 0.44x the multiply-adds ran at 0.91x
#: the baseline's time with it and 0.57x without; see reference_solutions/prune/NOTES.md).
LAYOUT_NEUTRAL = frozenset({"prune"})
_state: dict = {}


# -- locating and validating ------------------------------------------------------------

def _exercise() -> str:
    return os.environ.get("PROCTOR_EXERCISE", "")


def _dir() -> Path:
    return Path(artifact_dir(_exercise()))


def _model_path(base: Path) -> Path:
    if not base.is_dir():
        raise FileNotFoundError(f"artifact folder {base.name or base} does not exist")
    path = base / MODEL_FILE
    if not os.path.lexists(path):
        found = sorted(p for p in base.glob("*.onnx"))
        if len(found) != 1:
            raise FileNotFoundError(
                f"no {MODEL_FILE} in the artifact folder"
                + (f" (and {len(found)} other .onnx files: {[p.name for p in found]})"
                   if found else ""))
        path = found[0]
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        raise ValueError(f"{path.name} is a symlink; save the model file itself")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path.name} is not a regular file")
    if st.st_size > MAX_MODEL_BYTES:
        raise ValueError(f"{path.name} is {st.st_size} bytes, over the 2 GiB protobuf limit")
    return path


def _walk_graph(graph: onnx.GraphProto, where: str):
    """(tensor, where, kind) for every stored tensor of ``graph`` and its subgraphs;
    kind is "initializer", "sparse", or "attribute"."""
    for t in graph.initializer:
        yield t, where, "initializer"
    for s in graph.sparse_initializer:
        yield s, where, "sparse"
    yield from _walk_nodes(graph.node, where)


def _walk_nodes(nodes, where: str):
    for node in nodes:
        for attr in node.attribute:
            label = node.name or (node.output[0] if node.output else "")
            at = f"{where}/{node.op_type}:{label}"
            if attr.HasField("t"):
                yield attr.t, at, "attribute"
            for t in attr.tensors:
                yield t, at, "attribute"
            if attr.HasField("sparse_tensor"):
                yield attr.sparse_tensor, at, "sparse"
            for s in attr.sparse_tensors:
                yield s, at, "sparse"
            if attr.HasField("g"):
                yield from _walk_graph(attr.g, f"{at}.{attr.name}")
            for g in attr.graphs:
                yield from _walk_graph(g, f"{at}.{attr.name}")


def _all_tensors(model: onnx.ModelProto):
    """Every stored tensor of the model: main graph, subgraphs, functions, training info.
    Sparse tensors are yielded as their values and indices tensors."""
    sources = [_walk_graph(model.graph, "graph")]
    sources += [_walk_nodes(f.node, f"function {f.name}") for f in model.functions]
    for i, ti in enumerate(model.training_info):
        sources.append(_walk_graph(ti.initialization, f"training_info[{i}]"))
        sources.append(_walk_graph(ti.algorithm, f"training_info[{i}]"))
    for source in sources:
        for t, where, kind in source:
            if kind == "sparse":
                yield t.values, where, kind, t
                yield t.indices, where, "sparse-indices", t
            else:
                yield t, where, kind, None


def _external_entries(t: TensorProto) -> dict[str, str] | None:
    if t.data_location != TensorProto.EXTERNAL and not len(t.external_data):
        return None
    return {e.key: e.value for e in t.external_data}


def _safe_location(base: Path, location: str, tensor: str) -> Path:
    """The file ``location`` names, if it is a plain relative path inside ``base``."""
    what = f"tensor {tensor!r}: external data location {location!r}"
    if not location:
        raise ValueError(f"tensor {tensor!r}: external data without a location")
    if "\\" in location or "\0" in location or ":" in location:
        raise ValueError(f"{what} must be a plain relative path inside the artifact "
                         "folder (no backslashes, colons or NUL)")
    if "*" in location or "_ORT_" in location.upper():
        # onnxruntime reads "*/_ORT_MEM_ADDR_/*" as "the data is at this memory address"
        raise ValueError(f"{what} is one of onnxruntime's in-memory markers, not a file")
    if os.path.isabs(location) or location.startswith("~"):
        raise ValueError(f"{what} is an absolute path; external data must sit inside the "
                         "artifact folder, next to the model, under a relative name")
    parts = Path(location).parts
    if any(p == ".." for p in parts):
        raise ValueError(f"{what} leaves the artifact folder ('..'); external data must "
                         "sit inside it")
    path = base
    for p in parts:
        if p == ".":
            continue
        path = path / p
        try:
            st = os.lstat(path)
        except OSError:
            raise ValueError(f"{what}: no such file in the artifact folder") from None
        if stat.S_ISLNK(st.st_mode):
            raise ValueError(f"{what} goes through a symlink ({p!r}); save the data file "
                             "itself in the artifact folder")
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise ValueError(f"{what} is not a regular file")
    if not path.resolve().is_relative_to(base.resolve()):
        raise ValueError(f"{what} leaves the artifact folder")
    return path


def validate(model: onnx.ModelProto, base: Path) -> list[str]:
    """Refuse external data that is not a file inside ``base``; return the locations."""
    locations: list[str] = []
    sizes: dict[str, int] = {}
    for t, where, _kind, _ in _all_tensors(model):
        entries = _external_entries(t)
        if entries is None:
            continue
        name = t.name or where
        location = entries.get("location", "")
        path = _safe_location(base, location, name)
        if location not in sizes:
            sizes[location] = path.stat().st_size
            locations.append(location)
        try:
            offset = int(entries.get("offset", "0") or 0)
            length = int(entries["length"]) if entries.get("length") else None
        except ValueError:
            raise ValueError(f"tensor {name!r}: external data offset/length are not "
                             "integers") from None
        end = offset + (length if length is not None else 0)
        if offset < 0 or (length is not None and length < 0) or end > sizes[location]:
            raise ValueError(f"tensor {name!r}: external data [{offset}, {end}) lies outside "
                             f"{location!r} ({sizes[location]} bytes)")
    return locations


def _load() -> dict:
    """Parse and validate the model (no session yet); cached, failures included."""
    if "model" in _state:
        return _state
    if "error" in _state:
        raise _state["error"]
    try:
        base = _dir()
        path = _model_path(base)
        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:
            raise ValueError(f"{path.name} is not a readable ONNX model: "
                             f"{type(exc).__name__}: {str(exc)[:300]}") from None
        locations = validate(model, base)
    except Exception as exc:
        _state["error"] = exc
        raise
    _state.update(model=model, path=path, base=base, locations=locations)
    return _state


def _session():
    """The onnxruntime session (created on first use)."""
    state = _load()
    if "session" in state:
        return state["session"]
    if "session_error" in state:
        raise state["session_error"]
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.log_severity_level = 3
    extra = {"disabled_optimizers": ["NchwcTransformer"]} if _exercise() in LAYOUT_NEUTRAL \
        else {}
    try:
        sess = ort.InferenceSession(str(state["path"]), so, providers=["CPUExecutionProvider"],
                                    **extra)
    except Exception as exc:
        err = RuntimeError(f"onnxruntime cannot load {state['path'].name}: "
                           f"{type(exc).__name__}: {str(exc)[:600]}")
        state["session_error"] = err
        raise err from None
    inputs = sess.get_inputs()
    if len(inputs) != 1:
        err = ValueError(f"the model has {len(inputs)} inputs "
                         f"({[i.name for i in inputs]}); expected exactly one")
        state["session_error"] = err
        raise err
    state.update(session=sess, input=inputs[0].name, output=sess.get_outputs()[0].name)
    return sess


# -- what the checks call ---------------------------------------------------------------

def logits(x, repeat=1):
    """Run the model on ``x`` (fed as-is to its single input); the first output as float32.

    ``repeat`` > 1 runs the same input that many times and returns the last output: latency
    checks use it so that the fixed cost of a call through the pipe (decoding a 48 KB
    image takes about a fifth of the baseline's run time) is paid once per several runs.
    ONNX Runtime keeps no state between runs, so a repeat cannot be memoised.
    """
    sess = _session()
    x = np.asarray(x)
    repeat = int(repeat)
    if not 1 <= repeat <= 1000:
        raise ValueError(f"repeat must be in 1..1000, got {repeat}")
    feed, want = {_state["input"]: x}, [_state["output"]]
    try:
        for _ in range(repeat - 1):
            sess.run(want, feed)
        out = sess.run(want, feed)[0]
    except Exception as exc:
        raise RuntimeError(f"running the model on {x.dtype} {list(x.shape)} failed: "
                           f"{type(exc).__name__}: {str(exc)[:600]}") from None
    return np.asarray(out, dtype=np.float32)


def _dtype_name(elem_type: int) -> str:
    special = {TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64",
               TensorProto.UNDEFINED: "undefined"}
    if elem_type in special:
        return special[elem_type]
    try:
        return TensorProto.DataType.Name(elem_type).lower()
    except ValueError:
        return f"type{elem_type}"


def _value_info(vi: onnx.ValueInfoProto) -> dict:
    tt = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
    if tt is None:
        return {"name": vi.name, "dtype": "non-tensor", "shape": None}
    shape = None
    if tt.HasField("shape"):
        shape = [d.dim_value if d.HasField("dim_value")
                 else (d.dim_param if d.HasField("dim_param") else None) for d in tt.shape.dim]
    return {"name": vi.name, "dtype": _dtype_name(tt.elem_type), "shape": shape}


def _nonzero(t: TensorProto, base: Path) -> int | None:
    try:
        from onnx import numpy_helper

        return int(np.count_nonzero(numpy_helper.to_array(t, base_dir=str(base))))
    except Exception:
        return None


def _constant_names(model: onnx.ModelProto) -> dict[str, dict]:
    """Main-graph constants by output name: initializers and Constant nodes."""
    out = {}
    for t in model.graph.initializer:
        out[t.name] = {"dtype": _dtype_name(t.data_type), "numel": int(np.prod(t.dims)),
                       "tensor": t}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx") and node.output:
            for attr in node.attribute:
                if attr.name == "value" and attr.HasField("t"):
                    out[node.output[0]] = {"dtype": _dtype_name(attr.t.data_type),
                                           "numel": int(np.prod(attr.t.dims)), "tensor": attr.t}
    return out


def _int_range(t: TensorProto, base: Path) -> list[int] | None:
    """[min, max] of an integer tensor's values (None for other dtypes, or unreadable)."""
    if t.data_type not in (TensorProto.INT8, TensorProto.UINT8, TensorProto.INT16,
                           TensorProto.UINT16, TensorProto.INT32):
        return None
    try:
        from onnx import numpy_helper

        a = numpy_helper.to_array(t, base_dir=str(base))
    except Exception:
        return None
    return [int(a.min()), int(a.max())] if a.size else None


def _weights(model: onnx.ModelProto, base: Path) -> list[dict]:
    """For each conv/linear op of the main graph: where its weight is stored, and how
    (``range``: [min, max] of the stored values when they are integers)."""
    consts = _constant_names(model)
    producer = {o: n for n in model.graph.node for o in n.output}
    out = []
    for node in model.graph.node:
        idx = WEIGHT_INPUT.get(node.op_type)
        if idx is None or len(node.input) <= idx:
            continue
        if node.op_type == "MatMul" and node.input[idx] not in consts \
                and node.input[0] in consts:
            idx = 0
        name, path = node.input[idx], []
        for _ in range(16):
            if name in consts:
                break
            p = producer.get(name)
            if p is None or p.op_type not in WEIGHT_PASS_THROUGH or not p.input:
                break
            path.append(p.op_type)
            name = p.input[0]
        c = consts.get(name)
        out.append({"op": node.op_type, "node": node.name, "weight": node.input[idx],
                    "stored": name if c else None, "stored_dtype": c["dtype"] if c else None,
                    "numel": c["numel"] if c else None, "through": path,
                    "range": _int_range(c["tensor"], base) if c else None})
    return out


def describe() -> dict:
    """Plain data about the model file.

    ``file``, ``ir_version``, ``producer``; ``opsets`` {domain: version} (the default
    domain as ``"ai.onnx"``); ``inputs``/``outputs`` [{name, dtype, shape}] (symbolic dims
    as strings, unknown as None; graph inputs that are initializers are left out);
    ``op_types`` (sorted; ``domain::Op`` outside the default domain); ``tensors``
    [{name, where, kind, dtype, shape, numel, nonzero, external}] for every stored
    tensor; ``parameters`` (sum of their dense ``numel``) and ``nonzero``;
    ``external_data`` (locations, relative to the model's folder); ``weights``: per
    conv/linear op of the main graph, the stored tensor its weight comes from (through
    DequantizeLinear/Reshape/Transpose/...), its dtype, numel and (integers) value range
    [min, max]; ``weight_parameters``
    (sum of those numel, each stored tensor once).
    """
    state = _load()
    if "describe" in state:
        return state["describe"]
    model, base = state["model"], state["base"]
    inits = {t.name for t in model.graph.initializer}
    tensors, total, nonzero = [], 0, 0
    for t, where, kind, _sparse in _all_tensors(model):
        if len(tensors) >= MAX_TENSORS:
            raise ValueError(f"the model stores more than {MAX_TENSORS} constant tensors")
        numel = int(np.prod(t.dims)) if len(t.dims) else 1
        nz = _nonzero(t, base)
        if kind == "sparse":  # values of a sparse tensor: count the dense shape instead
            numel = int(np.prod(_sparse.dims)) if len(_sparse.dims) else numel
        if kind != "sparse-indices":
            total += numel
            nonzero += nz if nz is not None else numel
        tensors.append({"name": t.name, "where": where, "kind": kind,
                        "dtype": _dtype_name(t.data_type), "shape": [int(d) for d in t.dims],
                        "numel": numel, "nonzero": nz,
                        "external": _external_entries(t) is not None})
    ops = sorted({n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
                  for n in model.graph.node}
                 | {n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
                    for f in model.functions for n in f.node})
    weights = _weights(model, base)
    seen, weight_params = set(), 0
    for w in weights:
        if w["stored"] is not None and w["stored"] not in seen:
            seen.add(w["stored"])
            weight_params += w["numel"]
    state["describe"] = {
        "file": state["path"].name,
        "ir_version": int(model.ir_version),
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
        "opsets": {(o.domain or "ai.onnx"): int(o.version) for o in model.opset_import},
        "inputs": [_value_info(v) for v in model.graph.input if v.name not in inits],
        "outputs": [_value_info(v) for v in model.graph.output],
        "op_types": ops,
        "nodes": len(model.graph.node),
        "tensors": tensors,
        "parameters": total,
        "nonzero": nonzero,
        "external_data": list(state["locations"]),
        "weights": weights,
        "weight_parameters": weight_params,
    }
    return state["describe"]
