"""TF1 SavedModel with two meta graphs, tagged ['train'] and ['serve', 'gpu'], and none tagged ['serve'].

Exported with ``tf.compat.v1.saved_model.Builder``: ``add_meta_graph_and_variables(sess, ['train'])``
then ``add_meta_graph(['serve', 'gpu'])``, both with the serving_default signature (x -> y) of a
placeholder x [None,4] -> tanh(x @ W). Neither tag set is exactly {'serve'}, so the converter fails
with ``MetaGraphDef associated with tags {'serve'} could not be found``; a repair has to choose which
meta graph to promote.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, tf1_tanh_graph
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    extra = [["serve", "gpu"]]
    return tf1_save(dest / SAVED_MODEL, tf1_tanh_graph, tags=["train"], extra_meta_graphs=extra)


CASE = Case(
    id="tags/multi_metagraph",
    summary="TF1 Builder SavedModel with meta graphs ['train'] and ['serve','gpu']: none is exactly {'serve'}",
    build=build,
    expect=Expect(
        findings=frozenset({"tag-set-not-serve"}),
        fix_exit=0,
        rewrites=("retag_serve",),
        note="two meta graphs, both with the signature; the retag must pick one",
    ),
)
