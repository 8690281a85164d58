"""A TF2 serving signature that takes serialized ``tf.Example`` strings and parses them inside.

Sources: https://github.com/tensorflow/tensorflow/issues/34350 (the converter: ``'tf.ParseExampleV2' op is
neither a custom op nor a flex op``) and https://github.com/tensorflow/tfx/issues/94 (a TFX model "served with
TF Lite": only Flex ParseExample would run it). The TFX/Keras way: a ``serve_tf_examples_fn`` tf.function with
``input_signature=[tf.TensorSpec([None], tf.string, name="examples")]`` that calls ``tf.io.parse_example`` and
the model, saved with ``signatures={"serving_default": ...}``.

Rebuilt: tf.Module (dense 4->3 + softmax) with that signature over one float feature ``x`` of shape [4];
``tf.saved_model.save``. The fix changes the contract (examples -> parsed ``x``), so the user accepts unsafe
fixes after reading the diagnosis: ``--unsafe-fixes``. The reference is computed on the serialized examples;
the judge feeds the repaired model the same values already parsed.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, weights
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import numpy as np
    import tensorflow as tf

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(4, 3))
            self.b = tf.Variable(weights(3))

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
        def serve_tf_examples_fn(self, examples):
            parsed = tf.io.parse_example(examples, {"x": tf.io.FixedLenFeature([4], tf.float32)})
            return {"scores": tf.nn.softmax(tf.matmul(parsed["x"], self.w) + self.b)}

    model = Model()
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path), signatures={"serving_default": model.serve_tf_examples_fn})
    x = rng(20).standard_normal((3, 4)).astype("float32")
    examples = np.array([
        tf.train.Example(features=tf.train.Features(feature={
            "x": tf.train.Feature(float_list=tf.train.FloatList(value=row.tolist()))})).SerializeToString()
        for row in x
    ], dtype=object)
    out = model.serve_tf_examples_fn(tf.constant(examples))
    write_reference(dest, {"examples": examples}, out, repaired_inputs={"x": x})
    return path


CASE = WildCase(
    id="wild/parse_example_tf2_signature",
    url="https://github.com/tensorflow/tensorflow/issues/34350",
    summary="TF2 serve_tf_examples_fn signature: serialized tf.Example -> parse_example (Flex ParseExampleV2)",
    build=build,
    expect="repaired",
    args=("--unsafe-fixes",),
    rewrites=("bypass_example_parsing",),
)
