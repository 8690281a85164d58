"""TF1 SavedModel tagged ['serve'] with no signature_def_map.

A TF1 script exported with ``tf.compat.v1.saved_model.Builder`` and
``add_meta_graph_and_variables(sess, ['serve'])``, forgetting ``signature_def_map``. The graph is
unambiguous: one placeholder 'input_' [None,4] -> dense -> relu -> dense -> softmax 'scores'. The
converter fails with ``ValueError: Only support at least one signature key.``; the signature can be
rebuilt from the single placeholder and the single sink op.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, weights
from corpora.case import Case, Expect


def _graph() -> None:
    import tensorflow as tf

    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 4], name="input_")
    w1 = v1.Variable(weights(4, 8), name="dense/kernel")
    b1 = v1.Variable(weights(8), name="dense/bias")
    w2 = v1.Variable(weights(8, 3), name="logits/kernel")
    h = tf.nn.relu(tf.matmul(x, w1) + b1)
    tf.nn.softmax(tf.matmul(h, w2), name="scores")
    return None


def build(dest: Path) -> Path:
    return tf1_save(dest / SAVED_MODEL, _graph, tags=["serve"])


CASE = Case(
    id="signatures/tf1_no_signature",
    summary="TF1 Builder SavedModel tagged ['serve'] without signature_def_map; obvious IO input_ -> scores",
    build=build,
    expect=Expect(
        findings=frozenset({"tf1-graph-without-signature"}),
        fix_exit=0,
        rewrites=("build_tf1_signature",),
        note="converter: ValueError Only support at least one signature key.",
    ),
)
