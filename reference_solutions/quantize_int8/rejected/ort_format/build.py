"""Rejected: the reference int8 model (static QDQ, per-channel, ``reduce_range``, MinMax on
512 preprocessed training images), then converted to ONNX Runtime's *ORT format* -- the
FlatBuffers file ORT Mobile loads, what ``python -m
onnxruntime.tools.convert_onnx_models_to_ort`` writes ("it's for edge devices") -- and
delivered under the name ``model.onnx``.  An ``.ort`` file is not an ONNX (protobuf)
model: ``onnx.load`` cannot parse it, so the grader can neither inspect nor run it and
every check fails with "model.onnx is not a readable ONNX model".

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process

from proctor import baseline
from proctor.datasets import classification

FP32 = Path.cwd() / "exercises" / "_shared" / "baseline_cnn.onnx"
N_CALIB, BATCH = 512, 32


class Images(CalibrationDataReader):
    def __init__(self, images: np.ndarray) -> None:
        x = baseline.preprocess(images).numpy()
        self.batches = iter([{"input": x[i:i + BATCH]} for i in range(0, len(x), BATCH)])

    def get_next(self):
        return next(self.batches, None)


def to_ort_format(src: Path, dst: Path) -> None:
    """What convert_onnx_models_to_ort does: a session that saves its model as ORT format
    (basic optimisations only, so the file runs on any ORT build)."""
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    so.optimized_model_filepath = str(dst)
    so.add_session_config_entry("session.save_model_format", "ORT")
    ort.InferenceSession(str(src), so, providers=["CPUExecutionProvider"])


def main(out: Path) -> None:
    images, _ = classification(N_CALIB, baseline.TRAIN_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        pre, int8 = Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        quant_pre_process(str(FP32), str(pre))
        quantize_static(str(pre), str(int8), Images(images),
                        quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)
        to_ort_format(int8, out / "model.onnx")  # the mistake: an .ort file, renamed
    assert (out / "model.onnx").read_bytes()[4:8] == b"ORTM", "expected an ORT-format file"


if __name__ == "__main__":
    main(Path(sys.argv[1]))
