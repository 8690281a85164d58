"""Keras 3 model exported with a serving endpoint that parses serialized tf.Example strings.

A Keras 3 functional model with inputs x [4], count [1], w [2] -> Concatenate -> Dense(3, softmax)
'scores', exported for TF Serving with ``keras.export.ExportArchive``: ``track(model)`` and
``add_endpoint("serve", fn, input_signature=[TensorSpec([None], tf.string, name="examples")])``
where ``fn`` calls ``tf.io.parse_example`` (x float[4]; count int64[] default 0; w float[2]
default [0.5, -0.5]) and then the model. The converter fails with ERROR_NEEDS_FLEX_OPS
(``TF Select ops: ParseExampleV2``).
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect
from corpora.signatures._examples import examples_spec, feature_spec, model_inputs


def build(dest: Path) -> Path:
    import keras
    import tensorflow as tf

    seed_all(keras=True)
    inputs = {"x": keras.Input((4,), name="x"), "count": keras.Input((1,), name="count"), "w": keras.Input((2,), name="w")}
    h = keras.layers.Concatenate()([inputs["x"], inputs["count"], inputs["w"]])
    model = keras.Model(inputs, keras.layers.Dense(3, activation="softmax", name="scores")(h))

    def serve(examples):
        return {"scores": model(model_inputs(tf.io.parse_example(examples, feature_spec())))}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=serve, input_signature=[examples_spec()])
    out = dest / SAVED_MODEL
    archive.write_out(str(out), verbose=False)
    return out


CASE = Case(
    id="signatures/parse_example_keras_export",
    summary="Keras 3 ExportArchive endpoint parsing serialized tf.Example before calling the model",
    build=build,
    expect=Expect(
        findings=frozenset({"serialized-example-input", "needs-flex-ops"}),
        fix_exit=0,
        rewrites=("bypass_example_parsing",),
        fix_args=("--unsafe-fixes",),  # the fix changes the serving contract: the user must ask for it
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: ParseExampleV2 (inside the endpoint's function)",
    ),
)
