"""A TF1-era SavedModel whose only meta graph is tagged ``{'train', 'serve'}``.

Source: https://github.com/tensorflow/tensorflow/issues/48554 ("RuntimeError: MetaGraphDef associated with
tags {'serve'} could not be found in SavedModel": the user ends up calling
``from_saved_model(dir, tags=set(["train", "serve"]))``) and https://github.com/tensorflow/tensorflow/issues/38080
(same error from the getting-started converter code). The tag set is matched exactly, so containing 'serve'
is not enough (docs/facts.md 1c).

Rebuilt: ``tf.compat.v1.saved_model.Builder`` with tags ['train', 'serve'], placeholder x [None, 4] ->
tanh(x @ W), ``predict_signature_def`` serving_default. Must be re-tagged ``{'serve'}`` with no flag.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, weights
from corpora.wild._core import WildCase, rng, write_reference


def _graph() -> dict:
    import tensorflow as tf

    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w = v1.Variable(weights(4, 3), name="W")
    y = tf.tanh(tf.matmul(x, w), name="y")
    return {"serving_default": v1.saved_model.predict_signature_def(inputs={"x": x}, outputs={"y": y})}


def build(dest: Path) -> Path:
    import numpy as np

    path = tf1_save(dest / SAVED_MODEL, _graph, tags=["train", "serve"])
    x = rng(26).standard_normal((2, 4)).astype("float32")
    write_reference(dest, {"x": x}, {"y": np.tanh(x @ weights(4, 3))})  # the graph's own formula
    return path


CASE = WildCase(
    id="wild/tags_train_serve",
    url="https://github.com/tensorflow/tensorflow/issues/48554",
    summary="TF1 Builder SavedModel tagged {'train','serve'}: no meta graph with exactly {'serve'}",
    build=build,
    expect="repaired",
    rewrites=("retag_serve",),
)
