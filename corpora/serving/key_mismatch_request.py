"""TF1 SavedModel with input key 'input_features', checked against a sample TF Serving request.

Same model as serving/key_mismatch (``predict_signature_def({'input_features': x}, {'scores':
softmax})``, tags ['serve']). The user hands repair the REST request body their client sends,
``request.json`` = ``{"instances": [{"features": [0.1, 0.2, 0.3, 0.4]}]}``, written next to the
model. TF Serving would answer that ``features`` is not a valid input key; repair reads the
expected keys from the request and renames the signature input to match.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

from corpora._util import SAVED_MODEL, tf1_save, tf1_scores_graph
from corpora.case import Case, Expect


def build(dest: Path) -> Path:
    out = tf1_save(dest / SAVED_MODEL, partial(tf1_scores_graph, "input_features"), tags=["serve"])
    request = {"instances": [{"features": [0.1, 0.2, 0.3, 0.4]}]}
    (dest / "request.json").write_text(json.dumps(request) + "\n")
    return out


CASE = Case(
    id="serving/key_mismatch_request",
    summary="TF1 SavedModel with input key 'input_features'; sample REST request sends 'features'",
    build=build,
    expect=Expect(
        findings=frozenset({"serving-key-mismatch"}),
        fix_exit=0,
        rewrites=("rename_serving_keys",),
        diagnose_args=("--request", "{case_dir}/request.json"),
        fix_args=("--request", "{case_dir}/request.json"),
        note="the expected keys come from a sample TF Serving request body",
    ),
)
