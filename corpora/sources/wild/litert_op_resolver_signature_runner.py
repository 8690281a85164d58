"""A value test that runs a converted model with the reference kernels and keeps every intermediate tensor,
through its serving signature: ``tf.lite.Interpreter(model_path, experimental_op_resolver_type=
tf.lite.experimental.OpResolverType.BUILTIN_REF, experimental_preserve_all_tensors=True)``, with an optional
delegate loaded by ``tf.lite.experimental.load_delegate``.

Rebuilt from Samsung/ONE#15328 ("Change to LiteRT interpreter from the ai_edge_litert package"): the project's
value tests print the tf.lite.Interpreter deprecation warning hundreds of times and must move to
``ai_edge_litert``. The catch in such a move: ai_edge_litert's Interpreter rejects tf.lite's OpResolverType
(``ValueError: Unrecognized passed in op resolver type``), so the enum has to move with it.

Usage: python litert_op_resolver_signature_runner.py OUT_DIR
"""

import os
import sys
from pathlib import Path

import numpy as np
import tensorflow as tf

from corpora.sources.probe import write_reference  # the test's probe, not part of the user's script

DELEGATE = os.environ.get("VALUE_TEST_DELEGATE")  # e.g. a vendor delegate .so; unset: CPU reference kernels


class Net(tf.Module):
    def __init__(self):
        super().__init__()
        self.w1 = tf.Variable(tf.random.stateless_normal([5, 8], seed=(1, 1)))
        self.w2 = tf.Variable(tf.random.stateless_normal([8, 2], seed=(2, 2)))

    @tf.function(input_signature=[tf.TensorSpec([2, 5], tf.float32, name="x")])
    def serve(self, x):
        return {"logits": tf.matmul(tf.nn.relu(tf.matmul(x, self.w1)), self.w2)}


def main(out_dir):
    net = Net()
    saved = str(out_dir / "saved_model")
    tf.saved_model.save(net, saved, signatures={"serving_default": net.serve})
    path = out_dir / "net.tflite"
    path.write_bytes(tf.lite.TFLiteConverter.from_saved_model(saved).convert())

    delegates = [tf.lite.experimental.load_delegate(DELEGATE)] if DELEGATE else None
    interpreter = tf.lite.Interpreter(
        model_path=str(path),
        experimental_delegates=delegates,
        experimental_op_resolver_type=tf.lite.experimental.OpResolverType.BUILTIN_REF,
        experimental_preserve_all_tensors=True,
    )
    runner = interpreter.get_signature_runner("serving_default")
    x = np.random.default_rng(0).standard_normal((2, 5)).astype("float32")
    outputs = runner(x=x)
    n_tensors = len(interpreter.get_tensor_details())  # every intermediate is kept for the value test
    assert n_tensors >= 4, n_tensors
    write_reference(out_dir, {"x": x}, {"logits": outputs["logits"]})


if __name__ == "__main__":
    main(Path(sys.argv[1]))
