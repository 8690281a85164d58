"""A Keras image classifier exported with a dynamic batch: the GPU delegate refuses dynamic-sized tensors.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/47168 ("TFLite GPU Delegate Fails"): a Keras model with
an undefined (None) batch size benchmarks fine on the CPU and with XNNPACK, and the GPU delegate fails with
"Attempting to use a delegate that only supports static-sized tensors with a graph that has dynamic-sized tensors".
Here: a Keras 3 functional model (Input(shape=(32, 32, 3)), so the batch is None; conv -> BN -> ReLU -> depthwise
conv -> global pooling -> dense softmax), exported with ``model.export(dir)`` as users do. It converts builtins-only
and matches the original; every tensor of the .tflite has shape_signature -1 in the batch. ``--target gpu`` asks for
static shapes, which is the consent to pin the unknown batch to 1; the GPU check then passes.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inputs = keras.Input(shape=(32, 32, 3), name="image")
    h = keras.layers.Conv2D(8, 3, padding="same", use_bias=False)(inputs)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU(6.0)(h)
    h = keras.layers.DepthwiseConv2D(3, padding="same")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(4, activation="softmax", name="probs")(h)
    model = keras.Model(inputs, outputs)
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="targets/gpu_dynamic_batch",
    summary="Keras 3 classifier exported with a None batch: the GPU delegate refuses its dynamic-sized tensors",
    build=build,
    expect=Expect(
        findings=frozenset({"dynamic-dims", "gpu-incompatible"}),
        fix_exit=0,
        rewrites=("pin_dynamic_dims",),
        diagnose_args=("--target", "gpu"),
        fix_args=("--target", "gpu"),
        note="--target gpu is the consent to pin the batch to 1; the gate re-runs the GPU check on the output",
    ),
)
