"""TF1 SavedModel whose signature keys do not match what the serving client sends.

Exported with ``tf.compat.v1.saved_model.Builder`` (tags ['serve']) and
``predict_signature_def({'input_features': x}, {'scores': softmax})``, while the client sends
``features`` and reads ``probabilities``. Conversion succeeds; consumers fail: TF Serving /
saved_model_cli ``"features" is not a valid input key``, the TFLite runner ``Invalid Input name
(features) for SignatureDef``. The keys are renamed with ``--rename``.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, tf1_scores_graph
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    return tf1_save(dest / SAVED_MODEL, partial(tf1_scores_graph, "input_features"), tags=["serve"])


CASE = Case(
    id="serving/key_mismatch",
    summary="TF1 SavedModel with input key 'input_features'; the client sends 'features'",
    build=build,
    expect=Expect(
        findings=frozenset({"serving-key-mismatch"}),
        fix_exit=0,
        rewrites=("rename_serving_keys",),
        diagnose_args=("--input-keys", "features"),
        fix_args=("--rename", "input_features=features", "--rename", "scores=probabilities"),
        note="converts; consumers fail on the key names",
    ),
)
