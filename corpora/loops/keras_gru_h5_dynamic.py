"""A Keras 3 GRU saved as ``.h5`` with batch and time unknown: pinned with --pin, then unrolled.

Input((None, 8), name="frames") -> GRU(8) -> Dense(2), ``model.save("model.h5")``. Nothing can be
unrolled while the time axis is unknown (the trip count is the sequence length). With
``--pin frames=1,6,8`` the model is rebuilt from the file with a static Input of that shape and
unroll=True on the GRU, the weights copied, and exported again: the serving signature carries
[1,6,8] and no loop is left.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((None, 8), name="frames")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.GRU(8)(inp)))
    out = dest / "model.h5"
    model.save(out)
    return out


CASE = Case(
    id="loops/keras_gru_h5_dynamic",
    summary="Keras 3 GRU(8) as .h5 with Input((None, 8)): batch and time unknown, pinned with --pin",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file", "tensorlist-loop", "dynamic-dims"}),
        fix_exit=0,
        absent=frozenset(),
        absent_ops=frozenset({"WHILE"}),
        rewrites=("export_keras_file", "unroll_keras_rnn"),
        fix_args=("--pin", "frames=1,6,8"),
        note="the pin is applied in the rebuild (static Input), not by wrapping the exported signature",
    ),
)
