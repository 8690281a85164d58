"""A Keras classifier whose serving signature returns the top-3 classes: XNNPACK leaves TOPK_V2 on the CPU.

Shaped after the reports of models that XNNPACK delegates only in part, each piece it leaves behind splitting the graph
into another partition: https://github.com/asus4/tf-lite-unity-sample/pull/214 ("Replacing 269 node(s) with delegate
(TfLiteXNNPackDelegate) node, yielding 13 partitions") and https://github.com/tensorflow/tensorflow/issues/45902
("Number of Delegated Nodes": which nodes did the delegate not take, and how to find them programmatically). Here: a
Keras 3 functional model, features [None, 16] -> Dense(32, relu) -> Dense(10) -> a layer returning
``keras.ops.top_k(scores, k=3)`` (the serving answer is the best three classes and their scores), exported with
``model.export(dir)``. It converts builtins-only and runs in LiteRT, but the XNNPACK delegate has no TOPK_V2: the two
FULLY_CONNECTED layers are delegated and TOPK_V2 runs on TFLite's reference kernel. No exact equivalent of a k=3 top-k
exists in ops XNNPACK takes, so ``repair fix --target xnnpack`` refuses unless the user accepts the CPU fallback.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)

    class TopClasses(keras.layers.Layer):
        def call(self, scores):
            values, indices = keras.ops.top_k(scores, k=3)
            return {"top_scores": values, "top_classes": indices}

    inputs = keras.Input(shape=(16,), name="features")
    h = keras.layers.Dense(32, activation="relu")(inputs)
    scores = keras.layers.Dense(10, name="scores")(h)
    model = keras.Model(inputs, TopClasses(name="top3")(scores))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="targets/xnnpack_fallback",
    summary="Keras 3 classifier returning keras.ops.top_k(k=3): XNNPACK has no TOPK_V2, it stays on the CPU",
    build=build,
    expect=Expect(
        findings=frozenset({"xnnpack-fallback"}),
        fix_exit=1,
        diagnose_args=("--target", "xnnpack"),
        fix_args=("--target", "xnnpack"),
        note="XNNPACK takes the two FULLY_CONNECTED nodes, TOPK_V2 falls back; fix refused unless --accept-fallback xnnpack",
    ),
)
