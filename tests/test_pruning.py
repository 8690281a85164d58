"""strip_pruning_wrappers: the .tflite loses its resource variables and shrinks; keys stay unless renamed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rewrites.strip_pruning_wrappers import unwrapped_config
from tests.cli_helpers import repair
from tests.conftest import Corpus


def test_unwrapped_config_renames_graph_references() -> None:
    wrapper = {"class_name": "PruneLowMagnitude", "name": "prune_low_magnitude_dense",
               "config": {"name": "prune_low_magnitude_dense", "layer": {"class_name": "Dense", "config": {"name": "dense"}}},
               "inbound_nodes": [[["features", 0, 0, {}]]]}
    head = {"class_name": "Dense", "name": "head", "config": {"name": "head"},
            "inbound_nodes": [[["prune_low_magnitude_dense", 0, 0, {}]]]}
    root = {"class_name": "Functional", "config": {"layers": [wrapper, head], "output_layers": [["head", 0, 0]],
                                                    "input_layers": [["features", 0, 0]]}}
    config, names = unwrapped_config(root)
    assert names == {"prune_low_magnitude_dense": "dense"}
    assert config["layers"][0]["class_name"] == "Dense" and config["layers"][0]["name"] == "dense"
    assert config["layers"][1]["inbound_nodes"] == [[["dense", 0, 0, {}]]]


@pytest.mark.slow
def test_strip_shrinks_and_drops_resource_variables(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("pruning/unstripped")), "--out", str(out))
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["bytes"]["tflite_after"] < 0.6 * report["bytes"]["tflite_before"]
    ops = report["after"]["tflite"]["ops"]
    assert not {"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"} & set(ops)
    assert report["op_delta"]["VAR_HANDLE"] < 0
    assert list(report["after"]["tflite"]["signatures"]["serving_default"]["outputs"]) == ["prune_low_magnitude_dense"]


@pytest.mark.slow
def test_rename_restores_the_plain_layer_name(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("pruning/unstripped")), "--out", str(out), "--rename", "prune_low_magnitude_dense=dense")
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert list(report["after"]["tflite"]["signatures"]["serving_default"]["outputs"]) == ["dense"]
    assert [f["rewrite"] for f in report["fixes"]] == ["strip_pruning_wrappers", "rename_serving_keys"]
