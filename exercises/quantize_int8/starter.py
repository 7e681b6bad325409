"""int8 post-training quantization: save artifacts/quantize_int8/model.onnx."""

import numpy as np
import onnxruntime as ort

from proctor import baseline
from proctor.candidate import artifact_dir, is_grading
from proctor.datasets import classification

# The bundle's shared files: the fp32 baseline (.onnx, .pt) and its record (.json).
SHARED = baseline.SHARED_DIR
FP32 = SHARED / "baseline_cnn.onnx"
OUT = artifact_dir("quantize_int8") / "model.onnx"  # what is graded


def onnx_accuracy(path, images, labels, batch=250):
    """Top-1 accuracy of an ONNX model on uint8 images (preprocessed here, one thread)."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    logits = np.concatenate([
        sess.run(None, {name: baseline.preprocess(images[i:i + batch]).numpy()})[0]
        for i in range(0, len(images), batch)])
    return float((logits.argmax(1) == labels).mean())


eval_images, eval_labels = classification(500, baseline.PUBLIC_SEED)  # public split (first 500)
print("fp32 accuracy on 500 public images:", onnx_accuracy(FP32, eval_images, eval_labels))

if not is_grading():
    # TODO: quantize FP32 to int8 and save it to OUT, e.g. with onnxruntime.quantization
    #       (a CalibrationDataReader over preprocessed images from the *training* seed).
    #       Then compare onnx_accuracy(OUT, ...) with the fp32 figure, the file sizes, and
    #       the speed of both at batch 1 with one thread.
    pass
