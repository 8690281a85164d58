"""A Keras 3 model with three unnamed inputs, and the REST request its client really sends.

Functional model: ``Input((1,))`` age, ``Input((1,))`` income, ``Input((2,), dtype="int32")`` category ids
(Embedding), concatenated into Dense(8) -> Dense(1), exported with ``model.export``. The Inputs have no names, so
the signature keys are Keras' generic ``keras_tensor_N``; the client (tensorflow/serving#1837: "a dictionary of
several inputs") sends ``{"instances": [{"age": [..], "income": [..], "ids": [.., ..]}]}``. The keys alone cannot
say which input is which. The values can for ``ids`` (int, two per row); for age and income (both one float) only
the order of the keys in the request can, since the model's names are generic and numbered in creation order.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    age = keras.Input((1,))
    income = keras.Input((1,))
    ids = keras.Input((2,), dtype="int32")
    emb = keras.layers.Flatten()(keras.layers.Embedding(10, 3)(ids))
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([age, income, emb]))
    model = keras.Model([age, income, ids], keras.layers.Dense(1)(h))
    path = dest / SAVED_MODEL
    model.export(str(path), verbose=False)
    request = {"instances": [{"age": [31.0], "income": [52.5], "ids": [3, 7]},
                             {"age": [45.0], "income": [61.0], "ids": [1, 2]}]}
    (dest / "request.json").write_text(json.dumps(request) + "\n")
    return path


CASE = Case(
    id="serving/request_several_inputs",
    summary="Keras 3 export with three unnamed inputs (keras_tensor_N); a REST request sends age, income, ids",
    build=build,
    expect=Expect(
        findings=frozenset({"serving-key-mismatch"}),
        fix_exit=0,
        rewrites=("rename_serving_keys",),
        diagnose_args=("--request", "{case_dir}/request.json"),
        fix_args=("--request", "{case_dir}/request.json"),
        note="ids is paired by its values (int, 2 per row); age and income by the request's key order",
    ),
)
