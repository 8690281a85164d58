"""TF1 SavedModel tagged ['serve', 'gpu']: contains 'serve', but the tag set must be exactly {'serve'}.

Exported with ``tf.compat.v1.saved_model.Builder`` and ``add_meta_graph_and_variables(sess,
['serve', 'gpu'], ...)``, as GPU serving setups suggested. The graph is a placeholder x [None,4] ->
tanh(x @ W) with a serving_default signature (x -> y). Tag sets are matched exactly, so the converter
fails: ``MetaGraphDef associated with tags {'serve'} could not be found in SavedModel, with available
tags '[{'serve', 'gpu'}]'``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, tf1_tanh_graph
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    return tf1_save(dest / SAVED_MODEL, tf1_tanh_graph, tags=["serve", "gpu"])


CASE = Case(
    id="tags/serve_gpu",
    summary="TF1 Builder SavedModel tagged ['serve', 'gpu']: the tag set is not exactly {'serve'}",
    build=build,
    expect=Expect(
        findings=frozenset({"tag-set-not-serve"}),
        fix_exit=0,
        rewrites=("retag_serve",),
        note="tag sets match exactly: {'serve','gpu'} fails like {'train'}",
    ),
)
