"""A small Transformer encoder for token classification whose padding mask is built the way the TensorFlow
Transformer tutorial builds it, exported for a phone with ``tf.saved_model.save``.

Rebuilt from tensorflow/tensorflow#33616 ("TFLiteConverter StridedSlice Error for Transformer Example
Notebook"): the user follows the tutorial (``create_padding_mask(seq)`` casts ``seq == 0`` to float and returns
``seq[:, tf.newaxis, tf.newaxis, :]``), serves it through a ``@tf.function`` over token ids of any batch size and
length, and the converter stops on StridedSlice. Today the default converter still refuses it: with both dims
unknown the new-axis StridedSlice stays a Flex op, which standalone LiteRT cannot run.

Usage: python newaxis_transformer_padding_mask.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

VOCAB = 50
D_MODEL = 16
N_TAGS = 5


def create_padding_mask(seq):
    seq = tf.cast(tf.math.equal(seq, 0), tf.float32)
    # add extra dimensions to add the padding to the attention logits
    return seq[:, tf.newaxis, tf.newaxis, :]  # (batch_size, 1, 1, seq_len)


class Tagger(tf.Module):
    def __init__(self):
        super().__init__()
        init = tf.random.stateless_normal
        self.embedding = tf.Variable(init([VOCAB, D_MODEL], seed=(1, 2)) * 0.3)
        self.wq = tf.Variable(init([D_MODEL, D_MODEL], seed=(3, 4)) * 0.3)
        self.wk = tf.Variable(init([D_MODEL, D_MODEL], seed=(5, 6)) * 0.3)
        self.wv = tf.Variable(init([D_MODEL, D_MODEL], seed=(7, 8)) * 0.3)
        self.out = tf.Variable(init([D_MODEL, N_TAGS], seed=(9, 10)) * 0.3)

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="tokens")])
    def serve(self, tokens):
        mask = create_padding_mask(tokens)
        x = tf.gather(self.embedding, tokens)  # (batch, seq, d)
        q = tf.expand_dims(tf.matmul(x, self.wq), 1)  # one head: (batch, 1, seq, d)
        k = tf.expand_dims(tf.matmul(x, self.wk), 1)
        v = tf.expand_dims(tf.matmul(x, self.wv), 1)
        logits = tf.matmul(q, k, transpose_b=True) / tf.math.sqrt(float(D_MODEL))
        logits += mask * -1e9
        attended = tf.matmul(tf.nn.softmax(logits, axis=-1), v)[:, 0]
        return {"tags": tf.matmul(attended, self.out)}


def main(out_dir):
    model = Tagger()
    tf.saved_model.save(model, str(out_dir / "saved_model"), signatures={"serving_default": model.serve})

    tokens = np.array([[3, 7, 12, 0, 0], [5, 1, 9, 4, 2]], dtype=np.int32)
    write_reference(out_dir, {"tokens": tokens}, {"tags": model.serve(tf.constant(tokens))["tags"]})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
