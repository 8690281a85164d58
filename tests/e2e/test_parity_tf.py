"""Parity input generation against real TensorFlow (in e2e because it imports TensorFlow: ~8 s that the unit tier,
which imports none, does not pay; the rest of the parity tests are in tests/unit/test_parity.py)."""

from __future__ import annotations

import numpy as np

from repair.model.parity import generate_valid
from tests.unit.test_parity import IDS


def test_integer_ids_learn_the_bound_from_tensorflow() -> None:
    import tensorflow as tf

    table = tf.constant(np.arange(11 * 2, dtype=np.float32).reshape(11, 2))

    def run(feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"y": tf.gather(table, feeds["ids"]).numpy()}

    feeds, out = generate_valid((IDS,), run, seed=0)
    assert feeds["ids"].max() < 11
    assert out["y"].shape == (2, 5, 2)
