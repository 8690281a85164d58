"""A tf_keras LSTM saved with ``model.save(dir)`` (the legacy SavedModel format), batch None.

Input((6, 4), name="frames") -> LSTM(8, return_sequences=True) -> Dense(3) per step, built with
tf_keras and saved the TF 2.x way. The batch dimension is unknown, so the LSTM's TensorLists have
element shape [None, 8] and the builtins-only converter fails with ``'tf.TensorListReserve' op
requires element_shape to be static``. The SavedModel carries keras_metadata.pb (the layer
configs), so the model is rebuilt with unroll=True and saved again with tf_keras. (Unrolled in the
graph instead, the output list's size is ``strided_slice(shape(transpose(x)))[0]`` with the batch
unknown; repair.graph.tensorlists folds it from the static time dim.)
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tf_keras

    seed_all()
    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input((6, 4), name="frames")
    model = tf_keras.Model(inp, tf_keras.layers.Dense(3, name="scores")(tf_keras.layers.LSTM(8, return_sequences=True)(inp)))
    out = dest / SAVED_MODEL
    model.save(str(out), save_format="tf")
    return out


CASE = Case(
    id="loops/tf_keras_lstm_saved_model",
    summary="tf_keras LSTM(8, return_sequences=True) over 6 steps, model.save(dir), batch None",
    build=build,
    expect=Expect(
        findings=frozenset({"tensorlist-loop"}),
        fix_exit=0,
        absent_ops=frozenset({"WHILE"}),
        rewrites=("unroll_keras_rnn",),
        note="rebuilt from keras_metadata.pb with unroll=True and saved again with tf_keras",
    ),
    legacy_keras=True,
)
