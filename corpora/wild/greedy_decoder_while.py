"""A greedy decoding loop that stops when the model emits the end token: a data-dependent ``tf.while_loop``.

Source: https://github.com/tensorflow/tensorflow/issues/37134 (stefan-falk's transducer ``infer``: a
``tf.while_loop`` over decoder states collecting ids in a ``tf.TensorArray(..., dynamic_size=True)``, converted
with ``from_concrete_functions``; the converter listed ``TensorListReserve, TensorListStack, While``).

Rebuilt: tf.Module, signature encoded: float32 [1, 8]; state = encoded; ``while step < 10 and last != EOS``:
logits = state @ W, id = argmax, state = tanh(state @ U + embed[id]); ids written to a dynamic TensorArray;
returns the ids padded to 10 with -1. The trip count depends on the input: the loop cannot be unrolled, and a
TensorArray of unknown size stays a TensorList. Must be refused with that reason (not "fixed" wrongly).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, weights
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import tensorflow as tf

    class Decoder(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(8, 5, scale=2.0))
            self.u = tf.Variable(weights(8, 8))
            self.embed = tf.Variable(weights(5, 8))

        @tf.function(input_signature=[tf.TensorSpec([1, 8], tf.float32, name="encoded")])
        def infer(self, encoded):
            ids = tf.TensorArray(tf.int32, size=0, dynamic_size=True)
            state, step, last = encoded, tf.constant(0), tf.constant(-1)
            while step < 10 and last != 0:  # 0 = end of sequence
                last = tf.cast(tf.argmax(tf.matmul(state, self.w), axis=-1)[0], tf.int32)
                state = tf.tanh(tf.matmul(state, self.u) + self.embed[last][None, :])
                ids = ids.write(step, last)
                step += 1
            out = ids.stack()
            return {"ids": tf.concat([out, -tf.ones([10 - tf.shape(out)[0]], tf.int32)], 0)}

    model = Decoder()
    path = dest / SAVED_MODEL
    tf.saved_model.save(model, str(path), signatures={"serving_default": model.infer})
    x = rng(32).standard_normal((1, 8)).astype("float32")
    write_reference(dest, {"encoded": x}, model.infer(tf.constant(x)))
    return path


CASE = WildCase(
    id="wild/greedy_decoder_while",
    url="https://github.com/tensorflow/tensorflow/issues/37134",
    summary="greedy decoder: while_loop until EOS with a dynamic TensorArray (data-dependent trip count)",
    build=build,
    expect="refused",
    reason="depends on the input",
)
