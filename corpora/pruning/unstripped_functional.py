"""A functional tf_keras model with only some layers pruned, saved without strip_pruning.

Users often prune selectively: ``prune_low_magnitude`` wraps the big Dense layer of a functional
model while the head stays plain. The graph wiring (``inbound_nodes``, ``output_layers``) names the
wrapper, so stripping must rename those references too; the plain head's weights come across as
they are. Input ``features`` [None, 12] -> pruned Dense(16, relu) -> Dense(3, name="head").
"""

from __future__ import annotations

from pathlib import Path

from corpora._util import SAVED_MODEL, seed_all
from corpora.case import Case
from corpora.pruning import stripped


def build(dest: Path) -> Path:
    import numpy as np
    import tensorflow_model_optimization as tfmot
    import tf_keras

    seed_all()
    tf_keras.utils.set_random_seed(0)
    sparsity = tfmot.sparsity.keras
    schedule = sparsity.ConstantSparsity(0.6, begin_step=0, frequency=1)
    inputs = tf_keras.Input((12,), name="features")
    hidden = sparsity.prune_low_magnitude(tf_keras.layers.Dense(16, activation="relu"), pruning_schedule=schedule)(inputs)
    outputs = tf_keras.layers.Dense(3, name="head")(hidden)
    model = tf_keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((64, 12)).astype("float32")
    y = rng.standard_normal((64, 3)).astype("float32")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[sparsity.UpdatePruningStep()])
    out = dest / SAVED_MODEL
    model.save(str(out))
    return out


CASE = Case(
    id="pruning/unstripped_functional",
    summary="functional tf_keras model, one Dense pruned, saved without strip_pruning",
    build=build,
    expect=stripped("wrapper names in inbound_nodes are renamed; the unpruned head keeps its weights"),
    legacy_keras=True,
)
