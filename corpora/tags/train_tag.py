"""TF1 SavedModel tagged ['train'] instead of ['serve'].

A TF1-era training script exported with ``tf.compat.v1.saved_model.Builder`` and the tag it used
while training: ``add_meta_graph_and_variables(sess, ['train'], ...)``. The graph is a placeholder
x [None,4] -> tanh(x @ W) with a proper serving_default signature (x -> y). The converter and TF
Serving look for the meta graph tagged exactly {'serve'} and fail: ``MetaGraphDef associated with
tags {'serve'} could not be found in SavedModel, with available tags '[{'train'}]'``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, tf1_tanh_graph
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    return tf1_save(dest / SAVED_MODEL, tf1_tanh_graph, tags=["train"])


CASE = Case(
    id="tags/train_tag",
    summary="TF1 Builder SavedModel tagged ['train']: no {'serve'} meta graph",
    build=build,
    expect=Expect(
        findings=frozenset({"tag-set-not-serve"}),
        fix_exit=0,
        rewrites=("retag_serve",),
        note="converter: RuntimeError MetaGraphDef associated with tags {'serve'} could not be found",
    ),
)
