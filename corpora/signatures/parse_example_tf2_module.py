"""TF2 tf.Module whose serving signature takes serialized tf.Example strings and parses them inside.

How TF Serving's classify/predict-on-examples is written in TF2: ``@tf.function(input_signature=
[tf.TensorSpec([None], tf.string, name="examples")])`` calls ``tf.io.parse_example`` with x float[4],
count int64[] (default 0) and w float[2] (default [0.5, -0.5]), concatenates them and returns
softmax(h @ W) as 'scores'; ``tf.saved_model.save(m, dir, signatures={'serving_default': m.serve})``.
The parse is a ParseExampleV2 node inside the signature's function: the converter fails with
ERROR_NEEDS_FLEX_OPS (``TF Select ops: ParseExampleV2``).
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
            self.w = tf.Variable(weights(7, 3), name="W")

        @tf.function(input_signature=[examples_spec()])
        def serve(self, examples):
            f = model_inputs(tf.io.parse_example(examples, feature_spec()))
            h = tf.concat([f["x"], f["count"], f["w"]], axis=1)
            return {"scores": tf.nn.softmax(h @ self.w)}

    m = Classifier()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="signatures/parse_example_tf2_module",
    summary="TF2 tf.Module signature parsing serialized tf.Example (float, int64, defaults) inside the function",
    build=build,
    expect=Expect(
        findings=frozenset({"serialized-example-input", "needs-flex-ops"}),
        fix_exit=0,
        rewrites=("bypass_example_parsing",),
        fix_args=("--unsafe-fixes",),  # the fix changes the serving contract: the user must ask for it
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: ParseExampleV2 (inside the signature's function)",
    ),
)
