"""A Keras 3 audio-frame classifier exported with ``model.export``: only the batch is unknown, and the user pins it.

``Input((16, 8), name="frames")`` -> Conv1D(8, 3) -> GlobalAveragePooling1D -> Dense(4), exported with
``model.export(dir)``: the signature is ``frames [?,16,8]``. It converts as it is, so nothing looks wrong, but
the device build feeds exactly one frame window, and the user passes ``--pin frames=1,16,8``. Before, the pin was
dropped in silence (the output kept ``[-1,16,8]``, nothing said so). A pin the user gives is a contract: it is
applied and reported.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import keras

    seed_all(keras=True)
    inp = keras.Input((16, 8), name="frames")
    h = keras.layers.Conv1D(8, 3, activation="relu")(inp)
    out = keras.layers.Dense(4)(keras.layers.GlobalAveragePooling1D()(h))
    model = keras.Model(inp, out)
    path = dest / SAVED_MODEL
    model.export(str(path), verbose=False)
    return path


CASE = Case(
    id="shapes/pin_batch_only",
    summary="Keras 3 model.export with frames [?,16,8] (converts as is); the user pins frames=1,16,8",
    build=build,
    expect=Expect(
        findings=frozenset({"dynamic-dims"}),
        fix_exit=0,
        rewrites=("pin_dynamic_dims",),
        diagnose_args=("--pin", "frames=1,16,8"),
        fix_args=("--pin", "frames=1,16,8"),
        note="the pin is applied and reported although the model converts without it",
    ),
)
