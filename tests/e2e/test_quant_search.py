"""The budgeted int8 search on real models: the real converter, the real quantizer, the LiteRT interpreter.

The sensitive model: Dense(16, relu) -> Dense(16, relu) -> Dense(10) "logits" whose tenth logit is pinned near
-10000 (zero weights, bias -10000). Per-tensor int8 gives that output a step of about 40, so the nine logits that
decide the class (within +-30) collapse onto a step or two and argmax agreement drops; the logits layer computed in
float (its input still int8) keeps them apart. It is the only layer whose own error is large, and the one the search
must keep float.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from repair.core.options import BudgetTerm, Metric, Quantize, QuantMode
from repair.core.tfenv import tf
from repair.quantize import Calibration, Feeds, QuantResult, Recipe, search
from repair.quantize.convert import calibrate, quantize
from repair.quantize.measure import run_tflite, score
from repair.quantize.sensitivity import rank

TOP1 = (BudgetTerm(Metric.TOP1, 0.95),)


class Built:
    def __init__(self, path: Path, float_tflite: bytes, cal: Calibration, expected: tuple[Feeds, ...]) -> None:
        self.path, self.float_tflite, self.cal, self.expected = path, float_tflite, cal, expected


def _samples(seed: int, count: int) -> tuple[Feeds, ...]:
    rng = np.random.default_rng(seed)
    return tuple({"x": rng.standard_normal((1, 8)).astype(np.float32)} for _ in range(count))


def _tf_outputs(path: Path, samples: tuple[Feeds, ...]) -> tuple[Feeds, ...]:
    t = tf()
    fn = t.saved_model.load(str(path)).signatures["serving_default"]
    return tuple({k: np.asarray(v) for k, v in fn(x=t.constant(s["x"])).items()} for s in samples)


def _build(tmp: Path, sensitive: bool) -> Built:
    t = tf()
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8,), name="x")
    h = keras.layers.Dense(16, activation="relu", name="features")(inp)
    if sensitive:
        h = keras.layers.Dense(16, activation="relu", name="hidden")(h)
    out = keras.layers.Dense(10, name="logits")(h)
    model = keras.Model(inp, out)
    if sensitive:
        w, b = model.get_layer("logits").get_weights()
        w, b = w * 10, b.copy()
        w[:, 9], b[9] = 0.0, -10000.0  # the wide-range channel: never the class, but it sets the tensor's scale
        model.get_layer("logits").set_weights([w, b])
    path = tmp / ("sensitive" if sensitive else "easy")
    model.export(str(path), verbose=False)
    converter = t.lite.TFLiteConverter.from_saved_model(str(path))
    float_tflite = bytes(converter.convert())
    cal = Calibration(_samples(1, 64), _samples(2, 64), "generated (seed 1, 2)", generated=True)
    return Built(path, float_tflite, cal, _tf_outputs(path, cal.held_out))


@pytest.fixture(scope="module")
def sensitive(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return _build(tmp_path_factory.mktemp("quant_search"), sensitive=True)


@pytest.fixture(scope="module")
def searched(sensitive: Built) -> QuantResult:
    return search.run(sensitive.path, sensitive.float_tflite, sensitive.cal, sensitive.expected, ("output_0",),
                      Quantize(QuantMode.INT8, budget=TOP1))


def _producer(blob: bytes, output: str) -> tuple[str, str]:
    """(op name, output tensor name) of the op that writes the signature output ``output``, read by the interpreter."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=blob)
    index = interpreter.get_signature_runner().get_output_details()[output]["index"]
    for op in interpreter._get_ops_details():
        if index in list(op["outputs"]):
            return op["op_name"], interpreter._get_tensor_details(index, 0)["name"]
    raise AssertionError(f"no op writes {output}")


def _float_compute_ops(blob: bytes) -> list[tuple[str, str]]:
    """Ops other than QUANTIZE/DEQUANTIZE whose output is float32: (op, output tensor name)."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=blob)
    found = []
    for op in interpreter._get_ops_details():
        if op["op_name"] in ("QUANTIZE", "DEQUANTIZE", "DELEGATE"):
            continue
        for i in op["outputs"]:
            detail = interpreter._get_tensor_details(int(i), 0)
            if detail["dtype"] == np.float32:
                found.append((op["op_name"], detail["name"]))
    return found


def _run_independently(blob: bytes, samples: tuple[Feeds, ...]) -> list[np.ndarray]:
    """The .tflite's output_0 per sample, with its own quantized I/O handled here (not by repair.quantize.measure)."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=blob).get_signature_runner()
    din: dict[str, Any] = runner.get_input_details()["x"]
    dout: dict[str, Any] = runner.get_output_details()["output_0"]
    results = []
    for s in samples:
        x = s["x"]
        if din["dtype"] != np.float32:
            scale, zero = din["quantization"]
            x = np.clip(np.round(x / scale + zero), -128, 127).astype(din["dtype"])
        y = runner(x=x)["output_0"]
        if dout["dtype"] != np.float32:
            scale, zero = dout["quantization"]
            y = (y.astype(np.float32) - zero) * scale
        results.append(y)
    return results


def test_plain_int8_fails_and_keeping_the_logits_layer_float_passes(sensitive: Built, searched: QuantResult) -> None:
    assert not searched.steps[0].ok and searched.steps[0].float_layers == ()
    assert searched.ok, searched.refusal
    # Exactly one layer kept float, and it is the logits Dense: the op that writes output_0 in the float model.
    op, tensor = _producer(sensitive.float_tflite, "output_0")
    assert op == "FULLY_CONNECTED"
    assert searched.recipe.float_layers == (tensor,)
    assert [k.tensor for k in searched.kept] == [tensor]
    assert searched.ranking[0].tensor == tensor and searched.ranking[0].nsr > 10 * searched.ranking[1].nsr
    assert [s.why for s in searched.steps] == ["all layers quantized", "the 1 most sensitive layer float"]
    assert searched.float_bytes == len(sensitive.float_tflite) and 0 < searched.quant_bytes < searched.float_bytes
    assert searched.float_latency > 0 and searched.quant_latency > 0
    assert set(searched.seconds) >= {"calibrate", "rank", "search", "measure"}
    assert searched.no_kernel == ()
    assert len(searched.float_ops) == 1 and searched.float_ops[0].startswith("FULLY_CONNECTED")


def test_the_result_is_within_budget_on_fresh_samples_measured_without_the_tool(sensitive: Built,
                                                                                 searched: QuantResult) -> None:
    assert searched.tflite is not None
    fresh = _samples(7, 200)
    want = [e["output_0"] for e in _tf_outputs(sensitive.path, fresh)]
    got = _run_independently(searched.tflite, fresh)
    agree = np.mean([int(np.argmax(w) == np.argmax(g)) for w, g in zip(want, got)])
    assert agree >= 0.95
    plain = _run_independently(searched.steps and quantize(calibrate(sensitive.path, sensitive.cal.calibration),
                                                            Recipe(QuantMode.INT8)), fresh)
    assert np.mean([int(np.argmax(w) == np.argmax(g)) for w, g in zip(want, plain)]) < 0.95


def test_the_ranked_name_is_what_the_denylist_takes(sensitive: Built) -> None:
    calibrated = calibrate(sensitive.path, sensitive.cal.calibration)
    ranking = rank(sensitive.path, calibrated, Recipe(QuantMode.INT8), sensitive.cal.calibration)
    assert len(ranking) == 3 and {e.op for e in ranking} == {"FULLY_CONNECTED"}
    assert _float_compute_ops(quantize(calibrated, Recipe(QuantMode.INT8))) == []
    for layer in (ranking[0], ranking[-1]):  # the output layer and an inner one: each denylisted is the one float op
        floats = _float_compute_ops(quantize(calibrated, Recipe(QuantMode.INT8, float_layers=(layer.tensor,))))
        assert len(floats) == 1 and floats[0][0] == "FULLY_CONNECTED", floats
        assert floats[0][1].startswith(layer.tensor)


def test_an_impossible_budget_is_refused_with_the_figures(sensitive: Built) -> None:
    result = search.run(sensitive.path, sensitive.float_tflite, sensitive.cal, sensitive.expected, ("output_0",),
                        Quantize(QuantMode.INT8, budget=(BudgetTerm(Metric.MAX_ABS, 0.0),)))
    assert not result.ok and result.tflite is None
    assert result.refusal.startswith("even with all 3 quantizable layers kept float, max_abs of output_0 is ")
    assert "> 0 on 64 held-out samples: the budget cannot be met by int8 here" in result.refusal
    assert [len(s.float_layers) for s in result.steps] == [0, 1, 2, 3]


def test_a_replayed_recipe_is_quantized_exactly_and_measured(sensitive: Built, searched: QuantResult) -> None:
    result = search.run(sensitive.path, sensitive.float_tflite, sensitive.cal, sensitive.expected, ("output_0",),
                        Quantize(QuantMode.INT8, budget=TOP1, float_layers=searched.recipe.float_layers))
    assert result.ok and result.recipe == searched.recipe and len(result.steps) == 1 and result.ranking == ()
    assert [k.tensor for k in result.kept] == list(searched.recipe.float_layers)
    assert result.scores == searched.scores


def test_a_model_within_budget_at_once_keeps_nothing_float(tmp_path_factory: pytest.TempPathFactory) -> None:
    easy = _build(tmp_path_factory.mktemp("quant_easy"), sensitive=False)
    result = search.run(easy.path, easy.float_tflite, easy.cal, easy.expected, ("output_0",), Quantize(QuantMode.INT8))
    assert result.ok and len(result.steps) == 1 and result.recipe.float_layers == () and result.ranking == ()
    assert result.float_ops == () and result.kept == ()
    # The tool's own score of the published model agrees with a re-run of it on the same held-out samples.
    assert result.tflite is not None
    again = score(easy.expected, run_tflite(result.tflite, easy.cal.held_out), ("output_0",), result.budget)
    assert again == result.scores and again[0].metric is Metric.COSINE and again[0].achieved >= 0.99
