"""TF1 SavedModel tagged ['my_custom_tag'] instead of ['serve'].

A TF1-era script exported with ``tf.compat.v1.saved_model.Builder`` under a home-made tag:
``add_meta_graph_and_variables(sess, ['my_custom_tag'], ...)``. The graph is a placeholder x [None,4]
-> tanh(x @ W) with a proper serving_default signature (x -> y). The converter and TF Serving look for
the meta graph tagged exactly {'serve'} and fail: ``MetaGraphDef associated with tags {'serve'} could
not be found in SavedModel, with available tags '[{'my_custom_tag'}]'``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, tf1_tanh_graph
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    return tf1_save(dest / SAVED_MODEL, tf1_tanh_graph, tags=["my_custom_tag"])


CASE = Case(
    id="tags/custom_tag",
    summary="TF1 Builder SavedModel tagged ['my_custom_tag']: no {'serve'} meta graph",
    build=build,
    expect=Expect(
        findings=frozenset({"tag-set-not-serve"}),
        fix_exit=0,
        rewrites=("retag_serve",),
        note="converter: RuntimeError MetaGraphDef associated with tags {'serve'} could not be found",
    ),
)
