"""exercises/_shared/onnx_runner.py: the public runner that serves an ONNX file to the edge
exercises' checks (onnx_export, quantize_int8, prune).

The model is untrusted data.  These tests build small hostile and honest models with
``onnx.helper`` (no torch) and run the runner the way the worker does (its source exec'd
as a cell, ``PROCTOR_ARTIFACT_DIR`` pointing at the artifact dir): external data that
leaves the folder (``..``, absolute paths, symlinks, in node attributes and subgraphs
too) is refused with a message naming the location *before* onnxruntime sees the file;
``describe()`` reports plain data; ``logits()`` runs the model.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from proctor.worker import codec

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "exercises" / "_shared" / "onnx_runner.py"
W = np.arange(12, dtype=np.float32).reshape(4, 3) / 10 - 0.3  # one zero entry (index 3)
B = np.array([0.5, 0.0, -1.0], dtype=np.float32)


def matmul_model(weight_tensor: TensorProto | None = None, opset: int = 17,
                 extra_nodes=(), extra_inits=()) -> onnx.ModelProto:
    """x [N, 4] float -> x @ W + B -> y [N, 3]."""
    w = weight_tensor if weight_tensor is not None else numpy_helper.from_array(W, "W")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["xw"], name="mm"),
             helper.make_node("Add", ["xw", "B"], ["y"], name="add"), *extra_nodes]
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        initializer=[w, numpy_helper.from_array(B, "B"), *extra_inits])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                             ir_version=8)


def external(t: TensorProto, location: str, offset: int = 0, length: int | None = None
             ) -> TensorProto:
    """``t`` with its data moved out of the file, naming ``location``."""
    t = TensorProto.FromString(t.SerializeToString())
    raw = t.raw_data or numpy_helper.to_array(t).tobytes()
    t.ClearField("raw_data")
    t.ClearField("float_data")
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", str(offset)),
                 ("length", str(len(raw) if length is None else length))):
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def save(model: onnx.ModelProto, folder: Path, name: str = "model.onnx") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(model.SerializeToString())  # as is: never writes external data
    return path


@pytest.fixture
def runner(monkeypatch):
    """Returns load(folder) -> the runner's namespace, run as the worker runs it."""
    def load(folder: Path) -> dict:
        monkeypatch.setenv("PROCTOR_GRADING", "1")
        monkeypatch.setenv("PROCTOR_EXERCISE", "onnx_export")
        monkeypatch.setenv("PROCTOR_ARTIFACT_DIR", str(folder))
        ns = {"__name__": "__main__"}
        exec(compile(RUNNER.read_text(), str(RUNNER), "exec"), ns)
        return ns
    return load


@pytest.fixture
def no_session(monkeypatch):
    """Fail the test if onnxruntime is asked to create a session."""
    import onnxruntime

    def refuse(*a, **k):
        raise AssertionError("InferenceSession created for a model that must be refused")

    monkeypatch.setattr(onnxruntime, "InferenceSession", refuse)


def refused(ns: dict, *words: str) -> str:
    """Both entry points raise ValueError mentioning ``words``; returns the message."""
    with pytest.raises(ValueError) as a:
        ns["describe"]()
    with pytest.raises(ValueError) as b:
        ns["logits"](np.zeros((1, 4), np.float32))
    msg = str(a.value)
    assert str(b.value) == msg
    for w in words:
        assert w in msg, msg
    return msg


# -- honest models --------------------------------------------------------------------

def test_self_contained_model_runs_and_describes(tmp_path, runner):
    save(matmul_model(), tmp_path)
    ns = runner(tmp_path)
    x = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    got = ns["logits"](x)
    assert got.dtype == np.float32 and got.shape == (5, 3)
    np.testing.assert_allclose(got, x @ W + B, rtol=1e-5, atol=1e-6)
    d = ns["describe"]()
    codec.loads(codec.dumps(d))  # plain data: crosses the boundary
    assert d["file"] == "model.onnx"
    assert d["opsets"] == {"ai.onnx": 17}
    assert d["inputs"] == [{"name": "x", "dtype": "float32", "shape": ["batch", 4]}]
    assert d["outputs"] == [{"name": "y", "dtype": "float32", "shape": ["batch", 3]}]
    assert d["op_types"] == ["Add", "MatMul"]
    assert d["external_data"] == []
    assert d["parameters"] == 12 + 3 and d["nonzero"] == 11 + 2
    by_name = {t["name"]: t for t in d["tensors"]}
    assert by_name["W"] == {"name": "W", "where": "graph", "kind": "initializer",
                            "dtype": "float32", "shape": [4, 3], "numel": 12, "nonzero": 11,
                            "external": False}
    assert d["weights"] == [{"op": "MatMul", "node": "mm", "weight": "W", "stored": "W",
                             "stored_dtype": "float32", "numel": 12, "through": [],
                             "range": None}]
    assert d["weight_parameters"] == 12


def test_external_data_inside_the_folder_is_accepted(tmp_path, runner):
    raw = W.tobytes()
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "weights.bin").write_bytes(b"\0" * 16 + raw)
    save(matmul_model(external(numpy_helper.from_array(W, "W"), "sub/weights.bin", 16)),
         tmp_path)
    ns = runner(tmp_path)
    x = np.ones((2, 4), np.float32)
    np.testing.assert_allclose(ns["logits"](x), x @ W + B, rtol=1e-5)
    d = ns["describe"]()
    assert d["external_data"] == ["sub/weights.bin"]
    assert [t["external"] for t in d["tensors"] if t["name"] == "W"] == [True]
    assert [t["nonzero"] for t in d["tensors"] if t["name"] == "W"] == [11]


def test_the_only_onnx_file_is_used_without_model_onnx(tmp_path, runner):
    save(matmul_model(), tmp_path, "baseline_cnn.onnx")
    (tmp_path / "notes.txt").write_text("not a model")
    assert runner(tmp_path)["describe"]()["file"] == "baseline_cnn.onnx"


def test_several_onnx_files_and_no_model_onnx_is_an_error(tmp_path, runner):
    save(matmul_model(), tmp_path, "a.onnx")
    save(matmul_model(), tmp_path, "b.onnx")
    with pytest.raises(FileNotFoundError, match="no model.onnx"):
        runner(tmp_path)["describe"]()


def test_constant_nodes_and_qdq_weights_are_counted(tmp_path, runner):
    """Weights hidden in a Constant node still count; an int8 weight behind
    DequantizeLinear is reported as stored int8."""
    q = np.clip(np.round(W / 0.01), -127, 127).astype(np.int8)
    nodes = [helper.make_node("Constant", [], ["Wq"], value=numpy_helper.from_array(q, "c")),
             helper.make_node("DequantizeLinear", ["Wq", "s"], ["W"], name="dq")]
    graph = helper.make_graph(
        [*nodes, helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
        initializer=[numpy_helper.from_array(np.array(0.01, np.float32), "s")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              ir_version=8)
    save(model, tmp_path)
    d = runner(tmp_path)["describe"]()
    assert d["parameters"] == 12 + 1
    assert d["weights"][0]["stored_dtype"] == "int8"
    assert d["weights"][0]["through"] == ["DequantizeLinear"]
    assert d["inputs"][0]["shape"] == [None, 4]


def test_runner_is_lazy(tmp_path, runner):
    """Loading the runner on a broken folder does not raise: each call reports it."""
    (tmp_path / "model.onnx").write_bytes(b"this is not protobuf \xff\xfe" * 10)
    ns = runner(tmp_path)
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        ns["describe"]()
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        ns["logits"](np.zeros((1, 4), np.float32))


def test_two_inputs_are_refused_with_a_clear_message(tmp_path, runner):
    graph = helper.make_graph(
        [helper.make_node("Add", ["a", "b"], ["y"])], "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("a", "b")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                           ir_version=8), tmp_path)
    with pytest.raises(ValueError, match="2 inputs"):
        runner(tmp_path)["logits"](np.zeros(1, np.float32))


def test_wrong_input_dtype_names_the_dtype(tmp_path, runner):
    save(matmul_model(), tmp_path)
    with pytest.raises(RuntimeError, match="uint8"):
        runner(tmp_path)["logits"](np.zeros((1, 4), np.uint8))


def test_session_is_single_threaded_cpu_only(tmp_path, runner):
    save(matmul_model(), tmp_path)
    ns = runner(tmp_path)
    ns["logits"](np.zeros((1, 4), np.float32))
    sess = ns["_state"]["session"]
    assert sess.get_providers() == ["CPUExecutionProvider"]
    opts = sess.get_session_options()
    assert opts.intra_op_num_threads == 1 and opts.inter_op_num_threads == 1


# -- hostile models: refused before any session exists ---------------------------------

def test_external_data_escaping_to_graders_is_refused(tmp_path, runner, no_session):
    """The case the trust boundary names: weights 'stored' in ../../graders/<id>/seed.txt."""
    lib = tmp_path / "lib"
    secret = lib / "graders" / "onnx_export" / "seed.txt"
    secret.parent.mkdir(parents=True)
    secret.write_text("123456789\n" * 8)
    art = lib / "subs" / "artifacts"
    loc = "../../graders/onnx_export/seed.txt"
    assert (art / loc).resolve() == secret.resolve()
    save(matmul_model(external(numpy_helper.from_array(W, "W"), loc)), art)
    msg = refused(runner(art), loc, "leaves the artifact folder")
    assert "123456789" not in msg


def test_absolute_external_path_is_refused(tmp_path, runner, no_session):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(W.tobytes())
    art = tmp_path / "art"
    save(matmul_model(external(numpy_helper.from_array(W, "W"), str(outside))), art)
    refused(runner(art), str(outside), "absolute path")


@pytest.mark.parametrize("location", ["sub/../../w.bin", "./../w.bin", "..", "a\\..\\w.bin",
                                      "C:/w.bin", "~/w.bin"])
def test_other_escaping_locations_are_refused(tmp_path, runner, no_session, location):
    (tmp_path / "w.bin").write_bytes(W.tobytes())
    art = tmp_path / "art"
    (art / "sub").mkdir(parents=True)
    save(matmul_model(external(numpy_helper.from_array(W, "W"), location)), art)
    refused(runner(art), repr(location))


def test_onnxruntime_memory_address_marker_is_refused(tmp_path, runner, no_session):
    """onnxruntime reads the location "*/_ORT_MEM_ADDR_/*" as "the data is in memory at
    address <offset>": refused even when a file of that name exists in the folder."""
    loc = "*/_ORT_MEM_ADDR_/*"
    (tmp_path / "*" / "_ORT_MEM_ADDR_").mkdir(parents=True)
    (tmp_path / "*" / "_ORT_MEM_ADDR_" / "*").write_bytes(W.tobytes())
    save(matmul_model(external(numpy_helper.from_array(W, "W"), loc, offset=4096)), tmp_path)
    refused(runner(tmp_path), repr(loc), "in-memory")


def test_symlinked_data_file_is_refused(tmp_path, runner, no_session):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(W.tobytes())
    art = tmp_path / "art"
    art.mkdir()
    os.symlink(outside, art / "w.bin")
    save(matmul_model(external(numpy_helper.from_array(W, "W"), "w.bin")), art)
    refused(runner(art), "'w.bin'", "symlink")


def test_symlinked_folder_on_the_way_is_refused(tmp_path, runner, no_session):
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "w.bin").write_bytes(W.tobytes())
    art = tmp_path / "art"
    art.mkdir()
    os.symlink(tmp_path / "elsewhere", art / "d")
    save(matmul_model(external(numpy_helper.from_array(W, "W"), "d/w.bin")), art)
    refused(runner(art), "'d/w.bin'", "symlink")


def test_symlinked_model_file_is_refused(tmp_path, runner, no_session):
    real = save(matmul_model(), tmp_path / "elsewhere")
    art = tmp_path / "art"
    art.mkdir()
    os.symlink(real, art / "model.onnx")
    refused(runner(art), "symlink")


def test_missing_data_file_is_refused(tmp_path, runner, no_session):
    save(matmul_model(external(numpy_helper.from_array(W, "W"), "nope.bin")), tmp_path)
    refused(runner(tmp_path), "'nope.bin'", "no such file")


def test_data_range_beyond_the_file_is_refused(tmp_path, runner, no_session):
    (tmp_path / "w.bin").write_bytes(W.tobytes()[:20])
    save(matmul_model(external(numpy_helper.from_array(W, "W"), "w.bin")), tmp_path)
    refused(runner(tmp_path), "'w.bin'", "outside")


def test_escape_in_a_constant_node_is_refused(tmp_path, runner, no_session):
    """External data held by a node attribute (a Constant), not an initializer."""
    c = external(numpy_helper.from_array(np.ones(3, np.float32), "c"), "../c.bin")
    extra = [helper.make_node("Constant", [], ["unused"], value=c)]
    save(matmul_model(extra_nodes=extra), tmp_path / "art")
    refused(runner(tmp_path / "art"), "'../c.bin'")


def test_escape_in_a_subgraph_is_refused(tmp_path, runner, no_session):
    """External data of an initializer inside an If branch."""
    leak = external(numpy_helper.from_array(np.ones(3, np.float32), "k"), "/etc/passwd")
    branch = helper.make_graph([helper.make_node("Identity", ["k"], ["o"])], "branch", [],
                               [helper.make_tensor_value_info("o", TensorProto.FLOAT, [3])],
                               initializer=[leak])
    cond = numpy_helper.from_array(np.array(True), "cond")
    extra = [helper.make_node("If", ["cond"], ["branch_out"], then_branch=branch,
                              else_branch=branch)]
    save(matmul_model(extra_nodes=extra, extra_inits=[cond]), tmp_path / "art")
    refused(runner(tmp_path / "art"), "'/etc/passwd'", "absolute")
