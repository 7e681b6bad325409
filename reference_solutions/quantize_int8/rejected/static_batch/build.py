"""Rejected: the reference recipe (static QDQ, per-channel int8 weights, ``reduce_range``,
uint8 activations, MinMax on 512 preprocessed training images), but the batch dimension
is fixed at 1 first, with ONNX Runtime's ``make_dynamic_shape_fixed`` tooling ("the
device runs one image at a time, and fixed shapes quantize and optimise better").  The
int8 model is as small, as accurate and as fast as the reference at batch 1, but its input
is ``[1, 3, 64, 64]``: it no longer has the baseline's I/O (dynamic batch), and the
pipeline that feeds it batches breaks.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnxruntime.quantization import (
    CalibrationDataReader,
    CalibrationMethod,
    QuantFormat,
    QuantType,
    quantize_static,
)
from onnxruntime.quantization.shape_inference import quant_pre_process
from onnxruntime.tools.onnx_model_utils import fix_output_shapes, make_dim_param_fixed

from proctor import baseline
from proctor.datasets import classification

FP32 = Path.cwd() / "exercises" / "_shared" / "baseline_cnn.onnx"
N_CALIB = 512


class Images(CalibrationDataReader):
    """Preprocessed training images, one per batch: the model now takes nothing else."""

    def __init__(self, images: np.ndarray) -> None:
        x = baseline.preprocess(images).numpy()
        self.batches = iter([{"input": x[i:i + 1]} for i in range(len(x))])

    def get_next(self):
        return next(self.batches, None)


def main(out: Path) -> None:
    images, _ = classification(N_CALIB, baseline.TRAIN_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        fixed, pre = Path(tmp) / "fixed.onnx", Path(tmp) / "pre.onnx"
        model = onnx.load(str(FP32))
        batch = model.graph.input[0].type.tensor_type.shape.dim[0].dim_param
        make_dim_param_fixed(model.graph, batch, 1)  # the mistake: batch 1 baked in
        fix_output_shapes(model)
        onnx.save(model, str(fixed))
        quant_pre_process(str(fixed), str(pre))
        quantize_static(str(pre), str(out / "model.onnx"), Images(images),
                        quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
