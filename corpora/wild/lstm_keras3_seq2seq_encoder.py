"""Keras 3 seq2seq encoder (LSTM with return_state) over variable-length input, as a ``.keras`` file.

Source: https://github.com/tensorflow/tensorflow/issues/62849 ("A simple seq2seq model with lstm";
``TFLiteConverter.from_keras_model(enc_model)`` fails with ``'tf.TensorListReserve' op requires element_shape
to be static during TF Lite transformation pass``).

Rebuilt: the encoder half of the Keras seq2seq tutorial, trimmed: Input((None, 12), name="encoder_inputs")
-> LSTM(16, return_state=True) -> [state_h, state_c], ``model.save("encoder.keras")``. The user feeds 7-token
sentences and pins them: ``--pin encoder_inputs=1,7,12``. Two outputs must both match.
"""

from __future__ import annotations

from pathlib import Path

from corpora.wild._core import WildCase, rng, write_reference


def build(dest: Path) -> Path:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((None, 12), name="encoder_inputs")
    _, state_h, state_c = keras.layers.LSTM(16, return_state=True)(inp)
    model = keras.Model(inp, [state_h, state_c])
    path = dest / "encoder.keras"
    model.save(path)
    x = rng(3).standard_normal((1, 7, 12)).astype("float32")
    h, c = model(x, training=False)
    write_reference(dest, {"encoder_inputs": x}, {"output_0": h, "output_1": c})
    return path


CASE = WildCase(
    id="wild/lstm_keras3_seq2seq_encoder",
    url="https://github.com/tensorflow/tensorflow/issues/62849",
    summary="Keras 3 LSTM encoder with return_state, time None, .keras; pinned to 7 steps",
    build=build,
    expect="repaired",
    args=("--pin", "encoder_inputs=1,7,12"),
    pinned={"encoder_inputs": (1, 7, 12)},
)
