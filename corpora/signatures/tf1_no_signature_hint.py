"""TF1 SavedModel tagged ['serve'] with no signature, and more than one candidate input and output.

Exported with ``tf.compat.v1.saved_model.Builder`` without ``signature_def_map``. Besides the real
input placeholder 'image' [None,4] there is a training switch 'is_training'
(``placeholder_with_default(False)``), and besides the real output softmax 'scores' there is a
debugging sink 'debug_sum' (sum of the hidden layer, gated by is_training). Guessing the IO from
the graph is ambiguous, so the user has to name it: ``--io-hint inputs:image=image:0 --io-hint
outputs:scores=scores:0``. The converter fails with ``Only support at least one signature key.``
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, weights
from corpora.case import Case, Expect


def _graph() -> None:
    import tensorflow as tf

    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 4], name="image")
    is_training = v1.placeholder_with_default(False, [], name="is_training")
    w1 = v1.Variable(weights(4, 8), name="dense/kernel")
    w2 = v1.Variable(weights(8, 3), name="logits/kernel")
    h = tf.nn.relu(tf.matmul(x, w1))
    tf.nn.softmax(tf.matmul(h, w2), name="scores")
    tf.multiply(tf.reduce_sum(h), tf.cast(is_training, tf.float32), name="debug_sum")
    return None


def build(dest: Path) -> Path:
    return tf1_save(dest / SAVED_MODEL, _graph, tags=["serve"])


CASE = Case(
    id="signatures/tf1_no_signature_hint",
    summary="TF1 Builder SavedModel without signature; 2 placeholders and 2 sinks, IO named by --io-hint",
    build=build,
    expect=Expect(
        findings=frozenset({"tf1-graph-without-signature"}),
        fix_exit=0,
        rewrites=("build_tf1_signature",),
        fix_args=("--io-hint", "inputs:image=image:0", "--io-hint", "outputs:scores=scores:0"),
        note="ambiguous IO (is_training, debug_sum): the user names it with --io-hint",
    ),
)
