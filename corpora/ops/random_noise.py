"""A serving function that adds random noise at inference: nothing can prove parity.

The user left a noise-injection step (``x @ W + tf.random.normal(...)``) in the exported function.
It converts builtins-only (RANDOM_STANDARD_NORMAL), but two runs on the same input differ, so no
parity figure means anything: diagnose says the outputs are random, and fix refuses to publish an
unverifiable model (exit 3, verification failed) instead of calling a random diff a defect.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, weights
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    import tensorflow as tf

    seed_all()

    class Model(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = tf.Variable(weights(4, 3), name="w")

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32, name="x")])
        def serve(self, x):
            y = tf.matmul(x, self.w)
            return {"y": y + tf.random.normal(tf.shape(y), stddev=0.1)}

    m = Model()
    out = dest / SAVED_MODEL
    tf.saved_model.save(m, str(out), signatures={"serving_default": m.serve})
    return out


CASE = Case(
    id="ops/random_noise",
    summary="serving fn adds tf.random.normal noise: outputs differ run to run, parity cannot be proven",
    build=build,
    expect=Expect(
        findings=frozenset({"nondeterministic-outputs"}),
        absent=frozenset({"parity-mismatch"}),
        fix_exit=3,
        note="warning in diagnose; fix refuses to publish what it cannot verify",
    ),
)
