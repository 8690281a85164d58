"""tf.Module saved with a single signature named 'predict' and no 'serving_default'.

The user wrote ``tf.saved_model.save(m, dir, signatures={'predict': m.f})``, naming the signature
after what it does. The SavedModel has a valid signature, but TF Serving's default requests and
tools that look up ``serving_default`` do not find it. The converter (which takes the only
signature) converts it; a consumer asking for serving_default fails.
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

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def f(self, x):
            return {"y": tf.nn.relu(tf.matmul(x, self.w) + self.b)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"predict": m.f})
    return out


CASE = Case(
    id="signatures/named_only",
    summary="tf.Module saved with signatures={'predict': f} only: no serving_default",
    build=build,
    expect=Expect(
        findings=frozenset({"no-serving-default"}),
        fix_exit=0,
        rewrites=("add_serving_default",),
        note="the only signature is 'predict'; serving_default is missing",
    ),
)
