"""Dynamic-H,W signature on a graph that is only valid at 8x8 (flatten then matmul).

A ``tf.Module`` conv 3x3 3->4 (SAME) -> ``reshape([B, -1])`` -> matmul with W [256, 5], saved with
``input_signature=[TensorSpec([None, None, None, 3], name='image')]``. 256 = 8*8*4, so only 8x8
inputs work; the signature claims any size. It converts, but a 9x9 input fails at invoke with
``XNNPack delegate failed to reshape runtime``. The build also writes ``sample.npz`` (key 'image',
float32 (1, 8, 8, 3)), from which repair takes the shape to pin: ``--sample sample.npz``.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import numpy as np
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.k = tf.Variable(weights(3, 3, 3, 4), name="conv")
            self.w = tf.Variable(weights(256, 5, scale=0.1), name="head")

        @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32, name="image")])
        def serve(self, image):
            h = tf.nn.relu(tf.nn.conv2d(image, self.k, 1, "SAME"))
            flat = tf.reshape(h, [tf.shape(h)[0], -1])
            return {"logits": tf.matmul(flat, self.w)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    np.savez(dest / "sample.npz", image=weights(1, 8, 8, 3, scale=1.0))
    return out


CASE = Case(
    id="shapes/flatten_8x8",
    summary="conv -> reshape([B,-1]) -> matmul(W[256,5]) valid only at 8x8, signature [None,None,None,3]",
    build=build,
    expect=Expect(
        findings=frozenset({"dynamic-dims"}),
        fix_exit=0,
        rewrites=("pin_dynamic_dims",),
        fix_args=("--sample", "{case_dir}/sample.npz"),
        note="shape-specific graph behind a dynamic signature; the pin comes from sample.npz",
    ),
)
