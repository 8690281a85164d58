"""--quantize through the real CLI: the published pair of .tflite files, the gate, the reports, the plan file's recipe
replayed by --plan-in, diagnose's one plain try, and the flags' bad input (exit 2 before anything converts)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from repair.core.tfenv import captured_stderr
from tests.cli_helpers import Run, repair
from tests.conftest import Corpus


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small Keras 3 conv classifier, batch 1, exported with model.export: int8 keeps it within cosine 0.99."""
    import keras

    keras.utils.set_random_seed(0)
    with captured_stderr():
        inputs = keras.Input(shape=(12, 12, 3), batch_size=1, name="image")
        x = keras.layers.Conv2D(8, 3, activation="relu")(inputs)
        x = keras.layers.Conv2D(8, 3, activation="relu")(x)
        x = keras.layers.GlobalAveragePooling2D()(x)
        outputs = keras.layers.Dense(5, name="logits")(x)
        path = tmp_path_factory.mktemp("quant") / "saved_model"
        keras.Model(inputs, outputs).export(str(path), verbose=False)
    return path


@pytest.fixture(scope="module")
def fixed(model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Run]:
    work = tmp_path_factory.mktemp("quant-fix")
    out, plan = work / "fixed", work / "plan.json"
    run = repair("fix", str(model), "--out", str(out), "--quantize", "int8", "--io", "int8",
                 "--calibration-samples", "48", "--budget", "cosine=0.95", "--plan-out", str(plan))
    return out, plan, run


def _tensor_types(blob: bytes) -> set[str]:
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=blob)
    return {np.dtype(d["dtype"]).name for d in interpreter.get_tensor_details()}


def test_fix_publishes_the_int8_model_beside_the_float_one(fixed: tuple[Path, Path, Run]) -> None:
    out, _, run = fixed
    assert run.exit_code == 0, run.stdout + run.stderr
    quantized, floating = (out / "model.tflite").read_bytes(), (out / "model_float.tflite").read_bytes()
    assert len(quantized) < len(floating)  # a tiny model: the flatbuffer overhead, not the weights, dominates
    assert "int8" in _tensor_types(quantized) and "int8" not in _tensor_types(floating)
    said = {line.split()[0]: line for line in run.stdout.splitlines() if line.startswith("  ")}
    assert "the quantized .tflite (int8)" in said[str(out / "model.tflite")], run.stdout
    assert "the verified float .tflite" in said[str(out / "model_float.tflite")], run.stdout


def test_the_gate_and_the_report_hold_the_quantized_proof(fixed: tuple[Path, Path, Run]) -> None:
    out, _, _ = fixed
    report = json.loads((out / "report.json").read_text())
    gate = {c["check"]: c for c in report["gate"]}
    assert gate["quantized int8: builtins-only"]["ok"] and gate["quantized int8: runs in LiteRT"]["ok"]
    assert gate["budget output_0 cosine"]["ok"]
    q = report["quantization"]
    assert q["mode"] == "int8" and q["io"] == "int8"
    assert q["calibration"]["generated"] and q["calibration"]["count"] == 48 and q["calibration"]["held_out"] > 0
    (score,) = q["budget"]
    assert score["output"] == "output_0" and score["metric"] == "cosine" and score["achieved"] >= 0.95
    assert q["size"]["quantized"] < q["size"]["float"] and q["latency"]["quantized"] > 0
    assert q["steps"] and q["recipe"]["mode"] == "int8"
    fix = next(f for f in report["fixes"] if f["rewrite"] == "quantize")
    assert fix["outcome"] == "applied" and "--quantize" in fix["why"]
    markdown = (out / "report.md").read_text()
    assert "## Quantization" in markdown and "generated calibration data" in markdown


def test_the_plan_records_the_recipe_and_plan_in_replays_it(model: Path, fixed: tuple[Path, Path, Run],
                                                          tmp_path: Path) -> None:
    out, plan, _ = fixed
    body: dict[str, Any] = json.loads(plan.read_text())
    assert any(f["id"] == "model::quantize" and f["decision"] == "accept" for f in body["fixes"])
    recipe = body["quantization"]["recipe"]
    assert recipe == json.loads((out / "report.json").read_text())["quantization"]["recipe"]
    run = repair("fix", str(model), "--out", str(tmp_path / "again"), "--quantize", "int8", "--io", "int8",
                 "--calibration-samples", "48", "--budget", "cosine=0.95", "--plan-in", str(plan))
    assert run.exit_code == 0, run.stdout + run.stderr
    again = json.loads((tmp_path / "again" / "report.json").read_text())["quantization"]
    assert again["recipe"] == recipe and len(again["steps"]) == 1 and not again["ranking"]  # replayed, not searched
    body["fixes"] = [{**f, "decision": "reject"} if f["id"] == "model::quantize" else f for f in body["fixes"]]
    plan.with_name("reject.json").write_text(json.dumps(body))
    run = repair("fix", str(model), "--out", str(tmp_path / "rejected"), "--quantize", "int8", "--io", "int8",
                 "--calibration-samples", "48", "--budget", "cosine=0.95", "--plan-in", str(plan.with_name("reject.json")))
    assert run.exit_code == 1 and not (tmp_path / "rejected").exists()
    assert "was not accepted" in run.stdout


def test_diagnose_quantizes_once_and_says_when_the_budget_is_missed(model: Path) -> None:
    run = repair("diagnose", str(model), "--quantize", "int8", "--calibration-samples", "16", "--budget", "max_abs=0",
                 "--json")
    assert run.exit_code == 1, run.stdout
    report = json.loads(run.stdout)
    finding = next(f for f in report["findings"] if f["id"] == "quant-over-budget")
    assert "max_abs" in finding["title"]
    q = report["quantization"]
    assert len(q["steps"]) == 1 and q["recipe"]["float_layers"] == []


@pytest.mark.parametrize("args, needle", [
    (["--quantize", "int8"], "--calibration FILE.npz"),
    (["--calibration-samples", "8"], "needs --quantize"),
    (["--quantize", "int4"], "not a mode"),
    (["--quantize", "float16", "--io", "int8"], "need --quantize int8"),
    (["--quantize", "int8", "--calibration-samples", "8", "--budget", "cosine=2"], "between 0 and 1"),
    (["--quantize", "int8", "--calibration-samples", "8", "--budget", "psnr=3"], "unknown metric"),
    (["--quantize", "int8", "--calibration-samples", "8", "--budget", "probs:top1=0.9"], "no output is called 'probs'"),
])
def test_bad_quantize_flags_are_exit_2_with_one_line(model: Path, tmp_path: Path, args: list[str], needle: str) -> None:
    run = repair("fix", str(model), "--out", str(tmp_path / "out"), *args)
    assert run.exit_code == 2, run.stdout + run.stderr
    assert needle in run.stderr and "Traceback" not in run.stderr
    assert not (tmp_path / "out").exists() and os.listdir(tmp_path) == []  # no scratch left beside --out either


def test_a_float_island_blocks_micro_unless_the_fallback_is_accepted(corpus: Corpus, tmp_path: Path) -> None:
    """CUMSUM has no int8 kernel: it stays float. TFLM runs it, but an int8 microcontroller build is the point."""
    args = ("--quantize", "int8", "--calibration-samples", "32", "--target", "micro")
    model = str(corpus.artifact("quantize/no_int8_kernel"))
    run = repair("fix", model, "--out", str(tmp_path / "refused"), *args)
    assert run.exit_code == 1 and not (tmp_path / "refused").exists(), run.stdout
    assert "quant-float-ops" in run.stdout and "CUMSUM" in run.stdout and "no float island on micro" in run.stdout
    run = repair("fix", model, "--out", str(tmp_path / "accepted"), *args, "--accept-fallback", "micro")
    assert run.exit_code == 0, run.stdout
    report = json.loads((tmp_path / "accepted" / "report.json").read_text())
    finding = next(f for f in report["after"]["findings"] if f["id"] == "quant-float-ops")
    assert finding["severity"] == "warning" and report["quantization"]["no_kernel"]
    assert [t["verdict"] for t in report["quantization"]["targets"]] == ["pass"]


def test_a_calibration_file_that_cannot_feed_the_model_is_exit_2(model: Path, tmp_path: Path) -> None:
    bad = tmp_path / "calib.npz"
    np.savez(bad, pixels=np.zeros((8, 12, 12, 3), np.float32))
    run = repair("fix", str(model), "--out", str(tmp_path / "out"), "--quantize", "int8", "--calibration", str(bad))
    assert run.exit_code == 2 and "--calibration" in run.stderr and "'pixels'" in run.stderr, run.stderr
    np.savez(bad, image=np.zeros((8, 10, 10, 3), np.float32))
    run = repair("fix", str(model), "--out", str(tmp_path / "out"), "--quantize", "int8", "--calibration", str(bad))
    assert run.exit_code == 2 and "shape" in run.stderr and not (tmp_path / "out").exists(), run.stderr
    assert os.listdir(tmp_path) == ["calib.npz"]  # no scratch left beside --out


def test_diagnose_quantizes_a_keras_file_through_its_export(tmp_path: Path) -> None:
    """The .keras file's own finding (fixed by its export) does not stop diagnose from trying the quantization."""
    import keras

    with captured_stderr():
        inputs = keras.Input((8,))
        keras.Model(inputs, keras.layers.Dense(3)(keras.layers.Dense(16, activation="relu")(inputs))).save(
            tmp_path / "m.keras")
    run = repair("diagnose", str(tmp_path / "m.keras"), "--quantize", "int8", "--calibration-samples", "16", "--json")
    report = json.loads(run.stdout)
    assert [f["id"] for f in report["findings"]] == ["keras-file"]
    assert report["quantization"]["budget"][0]["ok"] and report["quantization"]["mode"] == "int8"


def test_a_budget_only_an_all_float_model_meets_is_refused(model: Path, tmp_path: Path) -> None:
    """Keeping every layer float 'meets' any budget and quantizes nothing: that is not an int8 model (a wild LOOKUP
    model did exactly this before: published as int8 with no int8 op)."""
    run = repair("fix", str(model), "--out", str(tmp_path / "out"), "--quantize", "int8", "--calibration-samples", "16",
                 "--budget", "max_abs=1e-4")
    assert run.exit_code == 1 and not (tmp_path / "out").exists(), run.stdout
    assert "quantizes nothing" in run.stdout
