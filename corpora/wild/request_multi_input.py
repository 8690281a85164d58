"""A three-input Keras 3 model served with TF Serving; the client's REST body names one input differently.

Sources: https://github.com/tensorflow/serving/issues/435 (``INVALID_ARGUMENT: input tensor alias not found in
signature``: the request's keys are not the signature's) and https://github.com/tensorflow/serving/issues/702
(several inputs with a prediction signature). TF Serving's row format sends one object per instance:
``{"instances": [{"age": ..., "income": ..., "zip": [...]}]}``.

Rebuilt: Keras 3 inputs ``age`` (1,), ``income`` (1,), ``zip_embedding`` (4,) -> Concatenate -> Dense(8) ->
Dense(1, sigmoid); ``model.export(dir)``. The client (already deployed) sends ``zip`` instead of
``zip_embedding``. The user hands repair the body: ``--request request.json``. The matching keys stay, the one
odd key is renamed.
"""

from __future__ import annotations

import json
from pathlib import Path

from corpora._util import SAVED_MODEL
from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    age = keras.Input((1,), name="age")
    income = keras.Input((1,), name="income")
    zip_embedding = keras.Input((4,), name="zip_embedding")
    h = keras.layers.Dense(8, activation="relu")(keras.layers.Concatenate()([age, income, zip_embedding]))
    model = keras.Model([age, income, zip_embedding], keras.layers.Dense(1, activation="sigmoid")(h))
    path = dest / SAVED_MODEL
    model.export(str(path))
    g = rng(22)
    feeds = {
        "age": g.uniform(18, 80, (2, 1)).astype("float32") / 100,
        "income": g.uniform(0, 1, (2, 1)).astype("float32"),
        "zip_embedding": g.standard_normal((2, 4)).astype("float32"),
    }
    out = model([feeds["age"], feeds["income"], feeds["zip_embedding"]], training=False)
    write_reference(dest, feeds, {"output_0": out})
    request = {"instances": [{"age": float(feeds["age"][i, 0]), "income": float(feeds["income"][i, 0]),
                              "zip": feeds["zip_embedding"][i].tolist()} for i in range(2)]}
    (dest / "request.json").write_text(json.dumps(request) + "\n")
    return path


CASE = WildCase(
    id="wild/request_multi_input",
    url="https://github.com/tensorflow/serving/issues/435",
    summary="Keras 3 model with inputs age/income/zip_embedding; the client's REST body sends 'zip'",
    build=build,
    expect="repaired",
    args=("--request", "{case_dir}/request.json"),
    key_map={"zip_embedding": "zip"},
    rewrites=("rename_serving_keys",),
)
