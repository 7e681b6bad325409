"""Rejected: the reference recipe (static QDQ, per-channel, reduce_range) but calibrated on
images that were not preprocessed: raw pixel values 0..255 cast to float32, NCHW.  The
calibration then sees an input range ~60x too wide, so the input (and every activation
range downstream of it) gets a scale that leaves the real, normalised inputs a handful of
quantization levels: the int8 model loses a lot of accuracy.

Usage: python build.py OUT_DIR   (cwd: the repository root)
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


class RawImages(CalibrationDataReader):
    """The mistake: NCHW float32 of the raw uint8 pixels, no /255, no mean/std."""

    def __init__(self, images: np.ndarray) -> None:
        x = np.ascontiguousarray(images.transpose(0, 3, 1, 2)).astype(np.float32)
        self.batches = iter([{"input": x[i:i + BATCH]} for i in range(0, len(x), BATCH)])

    def get_next(self):
        return next(self.batches, None)


def main(out: Path) -> None:
    images, _ = classification(N_CALIB, baseline.TRAIN_SEED)
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(FP32), str(pre))
        quantize_static(str(pre), str(out / "model.onnx"), RawImages(images),
                        quant_format=QuantFormat.QDQ, per_channel=True, reduce_range=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=CalibrationMethod.MinMax)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
