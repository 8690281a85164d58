"""A tiny Keras 3 text encoder whose self-attention layer is written with ``keras.ops`` (backend-agnostic, as
Keras-Hub writes its layers) and broadcasts the padding mask over heads with ``attention_mask[:, None, :, :]``;
exported with ``model.export`` for LiteRT.

Rebuilt from keras-team/keras-hub#2608 ("Torch backend litert support"): Keras-Hub found that indexing attention
masks with None traces to ``tf.StridedSlice`` with ``new_axis_mask``, which falls back to the Flex delegate that
standalone ``ai_edge_litert`` (>= 2.20) does not have, and replaced it with ``ops.expand_dims`` in 13 models.
Token ids and mask have any batch size and length, so the StridedSlice stays Flex.

Usage: python newaxis_keras3_ops_attention_mask.py OUT_DIR
"""

import sys
from pathlib import Path

import keras
import numpy as np
from keras import ops

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

VOCAB, DIM, HEADS = 40, 8, 2


class MaskedSelfAttention(keras.layers.Layer):
    def build(self, input_shape):
        self.qkv = self.add_weight(shape=(DIM, 3 * DIM), initializer="glorot_uniform", name="qkv")

    def call(self, x, padding_mask):
        batch, length = ops.shape(x)[0], ops.shape(x)[1]
        q, k, v = ops.split(ops.matmul(x, self.qkv), 3, axis=-1)

        def heads(t):
            return ops.transpose(ops.reshape(t, (batch, length, HEADS, DIM // HEADS)), (0, 2, 1, 3))

        scores = ops.matmul(heads(q), ops.transpose(heads(k), (0, 1, 3, 2))) / ops.sqrt(DIM / HEADS)
        attention_mask = ops.cast(padding_mask[:, None, :], "float32") * ops.ones_like(scores[:, 0])
        scores = scores + (1.0 - attention_mask[:, None, :, :]) * -1e9
        out = ops.matmul(ops.softmax(scores, axis=-1), heads(v))
        return ops.reshape(ops.transpose(out, (0, 2, 1, 3)), (batch, length, DIM))


def build_model():
    token_ids = keras.Input(shape=(None,), dtype="int32", name="token_ids")
    padding_mask = keras.Input(shape=(None,), dtype="int32", name="padding_mask")
    x = keras.layers.Embedding(VOCAB, DIM)(token_ids)
    x = MaskedSelfAttention()(x, padding_mask)
    outputs = keras.layers.Dense(3)(keras.layers.GlobalAveragePooling1D()(x))
    return keras.Model([token_ids, padding_mask], outputs)


def main(out_dir):
    keras.utils.set_random_seed(0)
    model = build_model()
    model.export(str(out_dir / "saved_model"), verbose=False)

    ids = np.array([[5, 9, 2, 0], [7, 3, 1, 8]], dtype=np.int32)
    mask = (ids != 0).astype(np.int32)
    write_reference(out_dir, {"token_ids": ids, "padding_mask": mask}, {"output_0": model([ids, mask])})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
