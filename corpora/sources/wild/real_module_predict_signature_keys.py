"""A bag-of-embeddings text scorer written as a ``tf.Module`` and exported for TF Serving's REST API with one
named signature built inline from ``get_concrete_function``.

Rebuilt from GoogleCloudPlatform/training-data-analyst#380: the export names its signature ``predict`` only,
and every request to ``/v1/models/NAME:predict`` that does not name a signature fails with ``Serving signature
name: "serving_default" not found in signature def`` (the .tflite converter has the same default). The
clients also send the numeric feature as ``features`` while the TensorSpec calls it ``input_features``
(``--rename input_features=features``).

Usage: python real_module_predict_signature_keys.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

VOCAB, DIM, MAX_TOKENS = 50, 8, 6


class TextScorer(tf.Module):
    def __init__(self, name=None):
        super().__init__(name=name)
        rng = np.random.default_rng(0)
        self.embedding = tf.Variable(rng.standard_normal((VOCAB, DIM)).astype("float32"), name="embedding")
        self.w = tf.Variable(rng.standard_normal((DIM + 1, 2)).astype("float32"), name="w")

    @tf.function
    def predict(self, token_ids, length_ratio):
        pooled = tf.reduce_mean(tf.gather(self.embedding, token_ids), axis=1)
        logits = tf.matmul(tf.concat([pooled, tf.reshape(length_ratio, [-1, 1])], axis=1), self.w)
        return {"scores": tf.nn.softmax(logits)}


def main(out_dir):
    module = TextScorer()
    export_dir = str(out_dir / "saved_model")
    tf.saved_model.save(
        module,
        export_dir,
        signatures={
            "predict": module.predict.get_concrete_function(
                tf.TensorSpec([None, MAX_TOKENS], tf.int32, name="token_ids"),
                tf.TensorSpec([None], tf.float32, name="input_features"),
            ),
        },
    )

    rng = np.random.default_rng(1)
    ids = rng.integers(0, VOCAB, size=(2, MAX_TOKENS)).astype("int32")
    ratio = rng.uniform(0.0, 1.0, size=(2,)).astype("float32")
    write_reference(out_dir, {"token_ids": ids, "input_features": ratio}, module.predict(ids, ratio))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
