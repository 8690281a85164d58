"""--target serving: the signature must run under the TF1-session loader TF Serving and saved_model_cli use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import repair
from tests.conftest import Corpus

pytestmark = pytest.mark.slow


def _ids(stdout: str) -> set[str]:
    return {f["id"] for f in json.loads(stdout)["findings"]}


def test_keras3_saved_model_save_fails_the_session_loader(corpus: Corpus) -> None:
    run = repair("diagnose", str(corpus.artifact("keras/keras3_saved_model_save")), "--target", "serving", "--json")
    assert run.exit_code == 1
    assert "session-loader-failure" in _ids(run.stdout)


def test_fixed_model_passes_the_session_loader(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "fixed"
    run = repair("fix", str(corpus.artifact("keras/keras3_saved_model_save")), "--out", str(out), "--target", "serving")
    assert run.exit_code == 0, run.stdout
    again = repair("diagnose", str(out), "--target", "serving", "--json")
    assert again.exit_code == 0 and "session-loader-failure" not in _ids(again.stdout)


def test_tf_keras_savedmodel_is_servable(corpus: Corpus) -> None:
    run = repair("diagnose", str(corpus.artifact("keras/tf_keras_savedmodel")), "--target", "serving", "--json")
    assert run.exit_code == 0, run.stdout
    assert not _ids(run.stdout)


def test_keras_file_diagnosis_looks_past_the_export(corpus: Corpus, tmp_path: Path) -> None:
    """A .keras whose export would still fail says so up front."""
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((5, 8), name="seq")
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.LSTM(4)(inp)))
    path = tmp_path / "rnn.keras"
    model.save(path)
    run = repair("diagnose", str(path), "--json")
    assert run.exit_code == 1
    assert {"keras-file", "tensorlist-loop"} <= _ids(run.stdout)
