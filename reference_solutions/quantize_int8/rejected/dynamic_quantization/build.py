"""Rejected: dynamic quantization (``quantize_dynamic``), the one-liner that works for
transformers.  Weights are int8 and the file is small, but every conv becomes
DynamicQuantizeLinear + ConvInteger: activations are quantized at run time, per call, and
ConvInteger has no fast kernel, so a CNN gets slower, not faster.

Usage: python build.py OUT_DIR   (cwd: the repository root)
"""

import sys
import tempfile
from pathlib import Path

from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.shape_inference import quant_pre_process

FP32 = Path.cwd() / "exercises" / "_shared" / "baseline_cnn.onnx"


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(FP32), str(pre))
        quantize_dynamic(str(pre), str(out / "model.onnx"), weight_type=QuantType.QInt8,
                         reduce_range=True)  # 7-bit weights: the mistake is elsewhere


if __name__ == "__main__":
    main(Path(sys.argv[1]))
