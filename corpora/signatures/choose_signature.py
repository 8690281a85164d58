"""A module with two signatures where the client needs the second one as the default.

``serving_default`` returns the model's logits, ``preprocess`` the normalised features; the team
serving it wants ``preprocess`` by default (``--signature preprocess``). The repaired model must
serve ``preprocess`` as ``serving_default`` and keep every other signature callable.
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

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def logits(self, x):
            return {"y": tf.matmul(x, self.w)}

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="raw")])
        def preprocess(self, raw):
            return {"norm": tf.math.l2_normalize(raw, axis=1)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.logits, "preprocess": m.preprocess})
    return out


CASE = Case(
    id="signatures/choose_signature",
    summary="two signatures; --signature preprocess makes the second one serving_default",
    build=build,
    expect=Expect(
        findings=frozenset({"no-serving-default"}),
        fix_exit=0,
        rewrites=("add_serving_default",),
        diagnose_args=("--signature", "preprocess"),
        fix_args=("--signature", "preprocess"),
        note="the old serving_default's graph is replaced; 'preprocess' stays callable by name",
    ),
)
