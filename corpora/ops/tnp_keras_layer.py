"""Keras 3 custom layer written with ``tf.experimental.numpy``, exported with ``model.export``.

A user wrote a ``keras.layers.Layer`` subclass whose ``call`` uses tnp: ``tnp.roll(x, 1, axis=1)``
plus ``tnp.cumsum(x, axis=1)``, and put it in a functional model Input((8,), name="x") ->
Dense(8) -> that layer -> Dense(2), exported the recommended way (``model.export(dir)``).
``tnp.cumsum`` is builtin (CUMSUM), but ``tnp.roll`` is the TF op Roll: the converter fails with
``ERROR_NEEDS_FLEX_OPS`` / ``TF Select ops: Roll`` (docs/facts.md 3). Repair substitutes a concat of slices.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras
    import tensorflow.experimental.numpy as tnp

    seed_all(keras=True)

    class RollCumsum(keras.layers.Layer):
        def call(self, x):
            return tnp.roll(x, 1, axis=1) + tnp.cumsum(x, axis=1)

    inp = keras.Input(shape=(8,), name="x")
    h = keras.layers.Dense(8)(inp)
    h = RollCumsum(name="roll_cumsum")(h)
    model = keras.Model(inp, keras.layers.Dense(2, name="y")(h))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="ops/tnp_keras_layer",
    summary="Keras 3 custom layer using tnp.roll + tnp.cumsum, model.export: needs Flex Roll",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-flex-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_FLEX_OPS, TF Select ops: Roll (cumsum is builtin CUMSUM)",
    ),
)
