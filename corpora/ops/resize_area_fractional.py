"""Keras 3 ``Resizing(16, 16, interpolation="area")`` on a 12x13 spectrogram: a non-integer area resize.

A user resizes STFT magnitudes of 12 frames x 13 bins to the 16x16 their CNN expects with
``keras.layers.Resizing(16, 16, interpolation="area")``, then Conv2D(4, 3) -> GlobalAveragePooling2D ->
Dense(2); ``keras.Input((12, 13, 1), name="spectrogram")``, ``model.export(dir)``. Area resizing is
``tf.image.resize(method="area")``, the TF op ResizeArea: ``ERROR_NEEDS_CUSTOM_OPS`` /
``Custom ops: ResizeArea`` (docs/facts.md 7), which SELECT_TF_OPS does not rescue. The factors (16/12, 16/13) are
not integers, so average pooling is no equivalent; area resizing is linear per axis, so it is exactly two
constant matrix products with the overlap weights TF uses.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    spec = keras.Input((12, 13, 1), name="spectrogram")
    h = keras.layers.Resizing(16, 16, interpolation="area")(spec)
    h = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(spec, keras.layers.Dense(2, name="scores")(h))
    out = dest / SAVED_MODEL
    model.export(str(out), verbose=False)
    return out


CASE = Case(
    id="ops/resize_area_fractional",
    summary="Keras 3 Resizing 12x13 -> 16x16 with interpolation='area', model.export: custom op ResizeArea",
    build=build,
    expect=Expect(
        findings=frozenset({"needs-custom-ops"}),
        fix_exit=0,
        rewrites=("substitute_flex_ops",),
        note="converter: ERROR_NEEDS_CUSTOM_OPS, Custom ops: ResizeArea (factors 4/3 and 16/13)",
    ),
)
