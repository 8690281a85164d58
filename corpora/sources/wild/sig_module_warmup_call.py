"""tensorflow/tensorflow#37086: "Misleading convert error when no concrete functions are given".

The user wrote a small tf.Module whose ``@tf.function`` method has no input_signature, called it once on a warm-up
batch (``tf.zeros((1, 6))``), saved it with ``tf.saved_model.save(module, path)`` and converted the SavedModel:
"This converter can only convert a single ConcreteFunction" (TF 2.1); on TF 2.21 the SavedModel holds no signature
and the converter says "Only support at least one signature key". Rebuilt in our own words: a two-layer scorer
with its weights as tf.Variables, the warm-up call the user made, and the save without ``signatures=``.

The codemod gives the method ``input_signature=[tf.TensorSpec([None, 6], tf.float32, name="features")]`` (the
warm-up call's shape with an unknown batch), so ``tf.saved_model.save`` exports it as ``serving_default``.

Usage: python sig_module_warmup_call.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script


class Scorer(tf.Module):
    def __init__(self, hidden=8):
        super().__init__(name="scorer")
        rng = np.random.default_rng(0)
        self.w1 = tf.Variable(rng.standard_normal((6, hidden)).astype("float32"), name="w1")
        self.w2 = tf.Variable(rng.standard_normal((hidden, 2)).astype("float32"), name="w2")

    @tf.function
    def predict(self, features):
        hidden = tf.nn.relu(tf.matmul(features, self.w1))
        return tf.nn.softmax(tf.matmul(hidden, self.w2))


def main(out_dir):
    scorer = Scorer()
    scorer.predict(tf.zeros((1, 6)))  # warm-up: traces once
    tf.saved_model.save(scorer, str(out_dir / "saved_model"))

    features = np.random.default_rng(1).standard_normal((3, 6)).astype("float32")
    write_reference(out_dir, {"features": features}, {"output_0": scorer.predict(features)})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
