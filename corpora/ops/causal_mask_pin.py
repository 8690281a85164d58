"""Self-attention whose causal mask is ``band_part(ones((T, T)), -1, 0)[None, :, :]`` over an unknown length.

A ``tf.Module`` with input_signature x [None, None, 8] float32 (batch, sequence, features) computes
scores = x Wq (x Wk)^T / sqrt(8), masks them with the causal mask built from ``tf.shape(x)[1]`` and
expanded with ``[None, :, :]``, and returns softmax(scores) x Wv. Saved with ``tf.saved_model.save``.
The mask's StridedSlice has ``new_axis_mask = 1`` over a [?, ?] tensor: ``ERROR_NEEDS_FLEX_OPS`` /
``TF Select ops: StridedSlice`` (measured in TF 2.21). The user deploys one sequence of 16 steps, so
the answer here is the pin (``--pin x=1,16,8``): at static shapes the slice folds away.
Without the pin the same finding is fixed by substitution (see ops/newaxis_spectrogram).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Attention(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wq = tf.Variable(weights(8, 8, scale=0.3), name="wq")
            self.wk = tf.Variable(weights(8, 8, scale=0.31), name="wk")
            self.wv = tf.Variable(weights(8, 8, scale=0.32), name="wv")

        @tf.function(input_signature=[tf.TensorSpec([None, None, 8], tf.float32, name="x")])
        def serve(self, x):
            q, k, v = (tf.einsum("btf,fg->btg", x, w) for w in (self.wq, self.wk, self.wv))
            scores = tf.matmul(q, k, transpose_b=True) / 8.0**0.5
            length = tf.shape(x)[1]
            causal = tf.linalg.band_part(tf.ones((length, length)), -1, 0)[None, :, :]
            scores += (1.0 - causal) * -1e9
            return {"y": tf.matmul(tf.nn.softmax(scores), v)}

    m = Attention()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/causal_mask_pin",
    summary="causal mask [None, :, :] over an unknown sequence length: Flex StridedSlice, removed by --pin x=1,16,8",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops", "dynamic-dims"}),
        fix_exit=0,
        rewrites=("pin_dynamic_dims",),
        absent_ops=frozenset({"FLEX:StridedSlice"}),
        diagnose_args=("--pin", "x=1,16,8"),
        fix_args=("--pin", "x=1,16,8"),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: StridedSlice (new_axis_mask = 1); the pin removes it",
    ),
)
