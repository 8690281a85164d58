"""A Keras 3 model whose Dropout is called with ``training=True``: serving is stochastic.

tensorflow/tensorflow#50502: a user wanted Monte-Carlo dropout at inference and wrote
``Dropout(0.3)(h, training=True)``, then exported with ``model.export``. Keras 3's dropout draws from a seed
generator, which lowers to ``StatelessRandomGetKeyCounter`` / ``StatelessRandomUniformV2``: Flex ops, so the
conversion fails, and even where it converts the outputs change on every call. No fix can prove parity against
a random model: diagnose must name the cause (random ops in the serving path), not "rewrite these Flex ops".
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((8,), name="x")
    h = keras.layers.Dense(16, activation="relu")(inp)
    h = keras.layers.Dropout(0.3)(h, training=True)
    model = keras.Model(inp, keras.layers.Dense(2)(h))
    path = dest / SAVED_MODEL
    model.export(str(path), verbose=False)
    return path


CASE = Case(
    id="ops/keras_dropout_training",
    summary="Keras 3 Dropout(training=True) exported with model.export: random Flex ops, serving is stochastic",
    build=build,
    expect=Expect(
        findings=frozenset({"nondeterministic-outputs"}),
        absent=frozenset({"needs-flex-ops"}),
        fix_exit=1,
        note="the random ops are named as such and the run is refused (no parity against a random model)",
    ),
)
