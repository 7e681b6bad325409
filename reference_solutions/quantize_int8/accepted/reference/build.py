"""Accepted: ONNX Runtime static quantization, QDQ format, per-channel int8 weights with
``reduce_range=True`` (7-bit weights: the u8s8 kernels of AVX2 CPUs without VNNI
accumulate pairs of products in saturating int16, and full-range weights overflow them),
uint8 activations calibrated (MinMax) on 512 preprocessed *training* images.

Usage: python build.py OUT_DIR   (cwd: the repository root; writes OUT_DIR/model.onnx)
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
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
    """Preprocessed training images, in batches, as the model's input."""

    def __init__(self, images: np.ndarray) -> None:
        x = baseline.preprocess(images).numpy()
        self.batches = iter([{"input": x[i:i + BATCH]} for i in range(0, len(x), BATCH)])

    def get_next(self):
        return next(self.batches, None)


def main(out: Path) -> None:
    images, _ = classification(N_CALIB, baseline.TRAIN_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(FP32), str(pre))  # shape inference + graph clean-up
        quantize_static(str(pre), str(out / "model.onnx"), Images(images),
                        quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
