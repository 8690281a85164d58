"""TF2 serving function parsing tf.Example with a VarLenFeature: no dense tensor to serve instead.

Like ``signatures/parse_example_tf2_module`` but the example also carries ``tokens``, a
``tf.io.VarLenFeature(tf.int64)`` (a list of ids of any length) that the function sums per row
(``tf.sparse.reduce_sum``). ParseExampleV2 needs Flex, and bypassing it would need the client to
send a SparseTensor, which a TFLite signature cannot take: ``repair`` names the reason and refuses.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect
from corpora.signatures._examples import examples_spec, feature_spec, model_inputs


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Classifier(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(8, 3), name="W")

        @tf.function(input_signature=[examples_spec()])
        def serve(self, examples):
            parsed = tf.io.parse_example(examples, {**feature_spec(), "tokens": tf.io.VarLenFeature(tf.int64)})
            f = model_inputs(parsed)
            tokens = tf.cast(tf.sparse.reduce_sum(parsed["tokens"], axis=1), tf.float32)[:, None]
            h = tf.concat([f["x"], f["count"], f["w"], tokens], axis=1)
            return {"scores": tf.nn.softmax(h @ self.w)}

    m = Classifier()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="signatures/parse_example_sparse_feature",
    summary="TF2 signature parsing tf.Example with a VarLenFeature: refused with the reason",
    build=build,
    expect=Expect(
        findings=frozenset({"serialized-example-input", "needs-flex-ops"}),
        fix_exit=1,
        fix_args=("--unsafe-fixes",),
        note="bypass_example_parsing: the example has sparse or ragged features, which have no dense tensor to feed",
    ),
)
