"""A greedy decoder that collects the predicted ids and scores in tf.TensorArrays, exported for TFLite.

Rebuilt from https://github.com/tensorflow/tensorflow/issues/42181 ("TensorArray cannot be converted with
TFLiteConverter"): the user collects a decoding loop's predicted ids in a ``tf.TensorArray`` and the
converter fails with ``failed to legalize operation 'tf.TensorListReserve'``. Here the loop has a fixed
length (``MAX_LEN`` steps in a plain Python ``for step in range(...)`` loop, ``.write`` per step, then
``.stack()``), so it is unrolled at trace time anyway; yet the TensorArray still saves as
TensorListReserve/SetItem/Stack, and the builtins-only converter refuses them (at batch None, and at a
pinned batch too). A Python list + ``tf.stack`` computes the same without TensorList ops.

Usage: python loop_tensor_array_decoder.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

MAX_LEN = 6
VOCAB = 12
HIDDEN = 16


class GreedyDecoder(tf.Module):
    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(0)
        self.embedding = tf.Variable(rng.standard_normal((VOCAB, HIDDEN)).astype("float32") * 0.5, name="embedding")
        self.recurrent = tf.Variable(rng.standard_normal((HIDDEN, HIDDEN)).astype("float32") * 0.3, name="recurrent")
        self.project = tf.Variable(rng.standard_normal((HIDDEN, VOCAB)).astype("float32") * 0.5, name="project")

    @tf.function(input_signature=[tf.TensorSpec([None, HIDDEN], tf.float32, name="encoder_state")])
    def decode(self, encoder_state):
        batch = tf.shape(encoder_state)[0]
        token = tf.zeros([batch], dtype=tf.int64)  # <s>
        state = encoder_state
        predicted_ids = tf.TensorArray(dtype=tf.int64, size=MAX_LEN)
        scores = tf.TensorArray(dtype=tf.float32, size=MAX_LEN, element_shape=tf.TensorShape([None]))
        for step in range(MAX_LEN):
            state = tf.tanh(tf.gather(self.embedding, token) + tf.matmul(state, self.recurrent))
            logits = tf.matmul(state, self.project)
            token = tf.argmax(logits, axis=-1)
            predicted_ids = predicted_ids.write(step, token)
            scores = scores.write(step, tf.reduce_max(tf.nn.log_softmax(logits), axis=-1))
        return {
            "ids": tf.transpose(predicted_ids.stack()),
            "log_prob": tf.reduce_sum(scores.stack(), axis=0),
        }


def main(out_dir):
    model = GreedyDecoder()
    tf.saved_model.save(model, str(out_dir / "saved_model"), signatures={"serving_default": model.decode})

    x = np.random.default_rng(1).standard_normal((2, HIDDEN)).astype("float32")
    write_reference(out_dir, {"encoder_state": x}, model.decode(tf.constant(x)))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
