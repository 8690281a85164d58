"""tf.Module saved without signatures; its tf.function was traced once, with shape (3, 4).

The user wrote a ``tf.Module`` with a variable and a ``@tf.function`` without input_signature
(x @ W + b), called it once on a (3, 4) batch, and ran ``tf.saved_model.save(m, dir)`` without
``signatures=``. The save succeeds silently; the SavedModel holds the traced concrete function but
no SignatureDef, so the converter fails with ``ValueError: Only support at least one signature
key.`` The traced function can be wrapped as serving_default (frozen to the traced shape [3, 4]).
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
            self.w = tf.Variable(weights(4, 3), name="w")
            self.b = tf.Variable(weights(3), name="b")

        @tf.function
        def __call__(self, x):
            return tf.matmul(x, self.w) + self.b

    m = Model()
    m(tf.constant(weights(3, 4)))
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out))
    return out


CASE = Case(
    id="signatures/traced_once",
    summary="tf.Module saved without signatures; __call__ traced once at (3,4): no SignatureDef",
    build=build,
    expect=Expect(
        findings=frozenset({"no-signature-traced"}),
        fix_exit=0,
        rewrites=("wrap_traced_function",),
        note="converter: ValueError Only support at least one signature key.",
    ),
)
