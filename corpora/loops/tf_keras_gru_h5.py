"""A tf_keras GRU model saved as ``.h5``: legacy Keras, same TensorList failure, same repair.

Input((6, 4), name="steps") -> GRU(8) -> Dense(3), built with tf_keras and saved to HDF5, the way
many TF 2.x era projects still ship models. Keras 3 cannot load every legacy h5, so the file goes
through tf_keras, and the rebuild with unroll=True is exported with tf_keras' SavedModel writer.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tf_keras

    seed_all()
    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input((6, 4), name="steps")
    model = tf_keras.Model(inp, tf_keras.layers.Dense(3)(tf_keras.layers.GRU(8)(inp)))
    out = dest / "model.h5"
    model.save(out)
    return out


CASE = Case(
    id="loops/tf_keras_gru_h5",
    summary="tf_keras GRU(8) over 6 steps saved as .h5",
    build=build,
    expect=Expect(
        findings=frozenset({"keras-file", "tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("export_keras_file", "unroll_keras_rnn"),
        note="loaded through tf_keras when Keras 3 cannot; rebuilt with unroll=True",
    ),
    legacy_keras=True,
)
