"""--target tflite-strict: what delegates and micro runtimes refuse becomes blocking."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import repair
from tests.conftest import Corpus

pytestmark = pytest.mark.slow


def _findings(stdout: str) -> dict[str, str]:
    return {f["id"]: f["severity"] for f in json.loads(stdout)["findings"]}


def test_while_loop_is_blocking_only_when_strict(corpus: Corpus) -> None:
    model = str(corpus.artifact("loops/static_while"))
    default = repair("diagnose", model, "--json")
    strict = repair("diagnose", model, "--json", "--target", "tflite-strict")
    assert default.exit_code == 0 and _findings(default.stdout)["while-loop"] == "info"
    assert strict.exit_code == 1 and _findings(strict.stdout)["while-loop"] == "error"


def test_resource_variables_are_blocking_when_strict(corpus: Corpus) -> None:
    strict = repair("diagnose", str(corpus.artifact("pruning/unstripped")), "--json", "--target", "tflite-strict")
    assert strict.exit_code == 1 and _findings(strict.stdout)["resource-variables"] == "error"


def test_strict_fix_pins_every_dim(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("shapes/dynamic_image")), "--out", str(out), "--target", "tflite-strict",
                 "--pin", "image=1,32,32,3")
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["after"]["tflite"]["signatures"]["serving_default"]["inputs"]["image"] == [1, 32, 32, 3]


def test_strict_batch_defaults_to_one(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("tags/train_tag")), "--out", str(out), "--target", "tflite-strict")
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["after"]["tflite"]["signatures"]["serving_default"]["inputs"]["x"] == [1, 4]


def test_float64_interface_is_refused_when_strict(corpus: Corpus, tmp_path: Path) -> None:
    run = repair("fix", str(corpus.artifact("ops/float64_model")), "--out", str(tmp_path / "o"), "--target", "tflite-strict",
                 "--unsafe-fixes", "--report", str(tmp_path / "rep"))
    assert run.exit_code == 1
    report = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert "float64-tensors" in {f["id"] for f in report["after"]["findings"]}
    assert not (tmp_path / "o").exists()
