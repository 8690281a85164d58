"""A TF1 frozen graph: variables folded into constants and written as a bare GraphDef .pb.

The classic TF1 deployment artefact (``freeze_graph`` / ``convert_variables_to_constants``, as in
object-detection's ``frozen_inference_graph.pb``): placeholder ``input_`` [None, 4] -> dense ->
relu -> dense -> softmax ``probabilities``. There is no SavedModel and no signature, so TF2's
converter and TF Serving cannot take it; the obvious input and output can be recovered from the graph.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [None, 4], name="input_")
        w1 = v1.Variable(weights(4, 8), name="w1")
        w2 = v1.Variable(weights(8, 3), name="w2")
        h = tf.nn.relu(tf.matmul(x, w1))
        tf.nn.softmax(tf.matmul(h, w2), name="probabilities")
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            frozen = v1.graph_util.convert_variables_to_constants(sess, graph.as_graph_def(), ["probabilities"])
    out = dest / "frozen_graph.pb"
    out.write_bytes(frozen.SerializeToString())
    return out


CASE = Case(
    id="frozen/tf1_frozen_graph",
    summary="TF1 frozen GraphDef .pb (variables folded to constants), no SavedModel",
    build=build,
    expect=Expect(
        findings=frozenset({"frozen-graph"}),
        fix_exit=0,
        rewrites=("wrap_frozen_graph",),
        note="input_ and probabilities are recovered from the graph",
    ),
)
