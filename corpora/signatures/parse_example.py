"""Estimator-style SavedModel whose input is a batch of serialized tf.Example strings.

What ``estimator.export_saved_model`` with a ``serving_input_receiver_fn`` produced, rebuilt with
``tf.compat.v1.saved_model.Builder`` (tags ['serve']): a string placeholder 'examples' [None] ->
``tf.io.parse_example`` with a dense float feature 'x' of shape [4] -> identity 'parsed_features'
-> matmul -> softmax 'scores'; signature ``predict_signature_def({'examples': s}, {'scores': y})``.
The converter fails with ERROR_NEEDS_FLEX_OPS (``TF Select ops: ParseExampleV2``); the parsing
can be bypassed by feeding 'parsed_features' directly.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, weights
from corpora.case import Case, Expect


def _graph() -> dict:
    import tensorflow as tf

    v1 = tf.compat.v1
    s = v1.placeholder(tf.string, [None], name="examples")
    parsed = tf.io.parse_example(s, {"x": tf.io.FixedLenFeature([4], tf.float32)})
    x = tf.identity(parsed["x"], name="parsed_features")
    w = v1.Variable(weights(4, 3), name="W")
    b = v1.Variable(weights(3), name="b")
    y = tf.nn.softmax(tf.matmul(x, w) + b, name="scores")
    sig = v1.saved_model.predict_signature_def(inputs={"examples": s}, outputs={"scores": y})
    return {"serving_default": sig}


def build(dest: Path) -> Path:
    return tf1_save(dest / SAVED_MODEL, _graph, tags=["serve"])


CASE = Case(
    id="signatures/parse_example",
    summary="Estimator-style SavedModel: serialized tf.Example string input -> parse_example (Flex)",
    build=build,
    expect=Expect(
        findings=frozenset({"serialized-example-input", "needs-flex-ops"}),
        fix_exit=0,
        rewrites=("bypass_example_parsing",),
        fix_args=("--unsafe-fixes",),  # the fix is unsafe: the user must ask for it
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: ParseExampleV2",
    ),
)
