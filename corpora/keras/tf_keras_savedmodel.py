"""Control case: a tf_keras (Keras 2) model saved with ``model.save(dir)``, which is fine.

A Keras 2 codebase saved its functional model (Input 'features' (8,) -> Dense(16, relu) ->
Dense(3, name='scores')) in the legacy SavedModel format with ``model.save(dir)``. It converts to
FULLY_CONNECTED x2 with diff 0 (docs/facts.md 1k): repair must find nothing blocking, no parity problem and
no unbound variables, and apply no rewrite.
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all, tf_keras_dense_model
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    seed_all()
    model = tf_keras_dense_model()
    out = dest / SAVED_MODEL
    model.save(str(out))
    return out


CASE = Case(
    id="keras/tf_keras_savedmodel",
    summary="Control: tf_keras model.save(dir) legacy SavedModel, converts and matches",
    build=build,
    expect=Expect(
        findings=frozenset(),
        fix_exit=0,
        absent=frozenset({"parity-mismatch", "unbound-variables"}),
        rewrites=(),
        note="control case: nothing to repair",
    ),
    legacy_keras=True,
)
