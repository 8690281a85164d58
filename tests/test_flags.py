"""Flags that name things must name real things, and what they ask for must be what gets published."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli_helpers import repair
from tests.conftest import Corpus


@pytest.mark.parametrize(
    "flag, needle",
    [
        (["--pin", "nosuch=1,4"], "no input is called 'nosuch'"),
        (["--rename", "nosuch=b"], "no input or output is called 'nosuch'"),
        (["--signature", "nosuch"], "no such signature"),
    ],
)
def test_unknown_names_are_bad_input(corpus: Corpus, tmp_path: Path, flag: list[str], needle: str) -> None:
    run = repair("fix", str(corpus.artifact("signatures/choose_signature")), "--out", str(tmp_path / "o"), *flag)
    assert run.exit_code == 2, run.stdout
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "o").exists()


def test_pin_contradicting_a_static_dim_is_bad_input(corpus: Corpus, tmp_path: Path) -> None:
    run = repair("fix", str(corpus.artifact("shapes/dynamic_image")), "--out", str(tmp_path / "o"), "--pin", "image=1,8,8,4")
    assert run.exit_code == 2
    assert "dimension 3 is fixed at 3" in run.stderr


@pytest.mark.slow
def test_other_signatures_survive_the_repair(corpus: Corpus, tmp_path: Path) -> None:
    import numpy as np
    import tensorflow as tf

    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("signatures/choose_signature")), "--out", str(out), "--signature", "preprocess")
    assert run.exit_code == 0, run.stdout
    loaded = tf.saved_model.load(str(out))
    assert set(loaded.signatures) == {"serving_default", "preprocess"}
    x = tf.constant(np.arange(8, dtype=np.float32).reshape(2, 4))
    served = loaded.signatures["serving_default"](raw=x)["norm"].numpy()
    np.testing.assert_allclose(np.linalg.norm(served, axis=1), 1.0, rtol=1e-6)


@pytest.mark.slow
def test_sample_pins_keep_the_batch_dynamic(corpus: Corpus, tmp_path: Path) -> None:
    import json

    case_dir = corpus.case_dir("shapes/flatten_8x8")
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("shapes/flatten_8x8")), "--out", str(out), "--sample", str(case_dir / "sample.npz"))
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["after"]["tflite"]["signatures"]["serving_default"]["inputs"]["image"] == [-1, 8, 8, 3]
