"""Static-trip-count ``tf.while_loop``: converts builtins-only to a WHILE op (non-blocking).

A ``tf.Module`` with input_signature x [None,16] float32 applies tanh(h @ W) (W [16,16]) three
times with ``tf.while_loop(lambda i, h: i < 3, ...)``. Folklore says loops break TFLite; in TF 2.21
this converts builtins-only to WHILE with 3 subgraphs and matches TF (docs/facts.md 6). Unrolling would
be about 2x faster per invoke; repair reports it and applies nothing.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(16, 16, scale=0.25), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 16], tf.float32, name="x")])
        def serve(self, x):
            _, h = tf.while_loop(
                lambda i, h: i < 3,
                lambda i, h: (i + 1, tf.tanh(tf.matmul(h, self.w))),
                (tf.constant(0), x),
            )
            return {"y": h}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="loops/static_while",
    summary="tf.while_loop(i < 3) over tanh(x@W): converts to WHILE, informational only",
    build=build,
    expect=Expect(
        findings=frozenset({"while-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_static_loops",),
        note="not a conversion failure in TF 2.21; nothing to repair",
    ),
)
