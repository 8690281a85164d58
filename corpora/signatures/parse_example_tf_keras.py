"""tf_keras model saved with a TF Serving signature that parses serialized tf.Example strings.

The TFX / TF Serving pattern of the Keras 2 era: ``model.save(dir, signatures={"serving_default":
serve})`` where ``serve`` is a ``@tf.function`` over ``TensorSpec([None], tf.string, name="examples")``
that calls ``tf.io.parse_example`` (x float[4]; count int64[] default 0; w float[2] default
[0.5, -0.5]) and then the model (Concatenate -> Dense(3, softmax) 'scores'). The converter fails
with ERROR_NEEDS_FLEX_OPS (``TF Select ops: ParseExampleV2``).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.case import Case, Expect
from corpora.signatures._examples import examples_spec, feature_spec, model_inputs


def build(dest: Path) -> Path:
    import tensorflow as tf
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    inputs = {"x": tf_keras.Input((4,), name="x"), "count": tf_keras.Input((1,), name="count"),
              "w": tf_keras.Input((2,), name="w")}
    h = tf_keras.layers.Concatenate()([inputs["x"], inputs["count"], inputs["w"]])
    model = tf_keras.Model(inputs, tf_keras.layers.Dense(3, activation="softmax", name="scores")(h))

    @tf.function(input_signature=[examples_spec()])
    def serve(examples):
        return {"scores": model(model_inputs(tf.io.parse_example(examples, feature_spec())))}

    out = dest / SAVED_MODEL
    model.save(str(out), signatures={"serving_default": serve})
    return out


CASE = Case(
    id="signatures/parse_example_tf_keras",
    summary="tf_keras model.save with a serving_default that parses serialized tf.Example",
    build=build,
    expect=Expect(
        findings=frozenset({"serialized-example-input", "needs-flex-ops"}),
        fix_exit=0,
        rewrites=("bypass_example_parsing",),
        fix_args=("--unsafe-fixes",),  # the fix changes the serving contract: the user must ask for it
    ),
    legacy_keras=True,
)
