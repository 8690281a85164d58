"""A TF1-style graph exported with SavedModelBuilder and predict_signature_def, for TF Serving.

Broken: the signature maps the key ``input_features`` while the clients send ``features``; conversion
succeeds, consumers fail (``"features" is not a valid input key``). Renaming the key in the signature
definition (``--rename input_features=features``) fixes the contract at the source.

Usage: python serving_keys_tf1.py OUT_DIR
"""

import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

tf.compat.v1.disable_eager_execution()


def build_graph():
    x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
    w = tf.compat.v1.Variable(np.random.standard_normal((4, 3)).astype("float32") * 0.5, name="W")
    b = tf.compat.v1.Variable(np.random.standard_normal(3).astype("float32") * 0.5, name="b")
    scores = tf.nn.softmax(tf.matmul(x, w) + b, name="scores")
    return x, scores


def main(out_dir):
    np.random.seed(0)
    tf.compat.v1.set_random_seed(0)

    x, scores = build_graph()
    with tf.compat.v1.Session() as sess:
        sess.run(tf.compat.v1.global_variables_initializer())
        signature = tf.compat.v1.saved_model.predict_signature_def(
            inputs={"input_features": x}, outputs={"scores": scores}
        )
        builder = tf.compat.v1.saved_model.Builder(str(out_dir / "saved_model"))
        builder.add_meta_graph_and_variables(
            sess, [tf.compat.v1.saved_model.tag_constants.SERVING],
            signature_def_map={"serving_default": signature},
        )
        builder.save()

        features = np.random.default_rng(1).standard_normal((2, 4)).astype("float32")
        write_reference(out_dir, {"input_features": features}, {"scores": sess.run(scores, {x: features})})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
