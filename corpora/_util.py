"""Helpers shared by several corpus cases. TensorFlow is imported lazily, inside the functions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SAVED_MODEL = "saved_model"  # directory name, inside dest, of every SavedModel artifact


def seed_all(keras: bool = False) -> None:
    """Seed numpy and TensorFlow (and Keras 3 when asked) so builds are deterministic."""
    import numpy as np
    import tensorflow as tf

    np.random.seed(0)
    tf.random.set_seed(0)
    if keras:
        import keras as k

        k.utils.set_random_seed(0)


def weights(*shape: int, dtype: str = "float32", scale: float = 0.5) -> Any:
    """A deterministic numpy array: each call draws from a fresh generator seeded with its shape."""
    import numpy as np

    rng = np.random.default_rng([0, *shape])
    return (rng.standard_normal(shape) * scale).astype(dtype)


def tf1_save(
    export_dir: Path,
    build_graph: Callable[[], dict[str, Any] | None],
    tags: Sequence[str] = ("serve",),
    extra_meta_graphs: Sequence[Sequence[str]] = (),
) -> Path:
    """Save a TF1 graph with ``tf.compat.v1.saved_model.Builder``, the way TF1-era code did.

    ``build_graph`` runs inside a fresh ``tf.Graph``; it creates the placeholders, variables and ops
    and returns the signature_def_map (or None for no signatures). Each of ``extra_meta_graphs`` is
    another tag set added with ``add_meta_graph`` and the same signatures.
    """
    import tensorflow as tf

    v1 = tf.compat.v1
    graph = tf.Graph()
    with graph.as_default():
        v1.set_random_seed(0)
        signature_def_map = build_graph()
        with v1.Session(graph=graph) as sess:
            sess.run(v1.global_variables_initializer())
            builder = v1.saved_model.Builder(str(export_dir))
            builder.add_meta_graph_and_variables(sess, list(tags), signature_def_map=signature_def_map)
            for extra in extra_meta_graphs:
                builder.add_meta_graph(list(extra), signature_def_map=signature_def_map)
            builder.save()
    return export_dir


def tf1_tanh_graph() -> dict[str, Any]:
    """Placeholder x [None,4] -> tanh(x @ W[4,3]); signature 'serving_default' with keys x -> y."""
    import tensorflow as tf

    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 4], name="x")
    w = v1.Variable(weights(4, 3), name="W")
    y = tf.tanh(tf.matmul(x, w), name="y")
    sig = v1.saved_model.predict_signature_def(inputs={"x": x}, outputs={"y": y})
    return {"serving_default": sig}


def tf1_scores_graph(input_key: str) -> dict[str, Any]:
    """Placeholder [None,4] named ``input_key`` -> dense -> softmax 'scores'; keys input_key -> scores."""
    import tensorflow as tf

    v1 = tf.compat.v1
    x = v1.placeholder(tf.float32, [None, 4], name=input_key)
    w = v1.Variable(weights(4, 3), name="W")
    b = v1.Variable(weights(3), name="b")
    y = tf.nn.softmax(tf.matmul(x, w) + b, name="scores")
    sig = v1.saved_model.predict_signature_def(inputs={input_key: x}, outputs={"scores": y})
    return {"serving_default": sig}


def keras3_dense_model() -> Any:
    """Keras 3 functional model: Input 'features' (8,) -> Dense(16, relu) -> Dense(3, name='scores')."""
    import keras

    inp = keras.Input(shape=(8,), name="features")
    h = keras.layers.Dense(16, activation="relu")(inp)
    out = keras.layers.Dense(3, name="scores")(h)
    return keras.Model(inp, out)


def tf_keras_dense_model() -> Any:
    """tf_keras functional model: Input 'features' (8,) -> Dense(16, relu) -> Dense(3, name='scores')."""
    import tf_keras

    tf_keras.utils.set_random_seed(0)
    inp = tf_keras.Input(shape=(8,), name="features")
    h = tf_keras.layers.Dense(16, activation="relu")(inp)
    out = tf_keras.layers.Dense(3, name="scores")(h)
    return tf_keras.Model(inp, out)
