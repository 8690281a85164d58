"""Shared by the TF2 parse-example cases: the features a TF Serving classify/predict client sends.

Not a case (no ``CASE``). Three FixedLenFeatures: a float vector without default, an int64 scalar
and a float vector with defaults, so parsing covers both dtypes, scalars, vectors and default values.
"""

from __future__ import annotations

from typing import Any


def feature_spec() -> dict[str, Any]:
    """The parse_example spec: x float32[4], count int64[] (default 0), w float32[2] (default [0.5, -0.5])."""
    import tensorflow as tf

    return {
        "x": tf.io.FixedLenFeature([4], tf.float32),
        "count": tf.io.FixedLenFeature([], tf.int64, default_value=0),
        "w": tf.io.FixedLenFeature([2], tf.float32, default_value=[0.5, -0.5]),
    }


def model_inputs(parsed: dict[str, Any]) -> dict[str, Any]:
    """Parsed features -> the model's float inputs: x [B,4], count [B,1] (as float), w [B,2]."""
    import tensorflow as tf

    return {"x": parsed["x"], "count": tf.cast(parsed["count"], tf.float32)[:, None], "w": parsed["w"]}


def examples_spec() -> Any:
    """The serving function's input: a batch of serialized tf.Example strings."""
    import tensorflow as tf

    return tf.TensorSpec([None], tf.string, name="examples")
