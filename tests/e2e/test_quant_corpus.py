"""The quantization corpus (corpora/quantize/), checked without trusting the tool.

Two parts:
- ``check_quantized``: test_corpus_e2e.py's ``test_fix`` calls it on every published ``--quantize`` case. It loads the
  ORIGINAL artifact with TensorFlow, runs the published ``model.tflite`` in the LiteRT interpreter (inputs quantized and
  outputs dequantized by the tensors' own parameters) on the case's ``check.npz`` rows, which the tool never saw,
  computes the budget's metrics itself and asserts they hold within a stated margin (fresh rows differ from the tool's
  held-out rows); it reads the flatbuffer itself: builtins only, really quantized, and every op computing in float is one
  the report names (a layer kept float or an op without a quantized kernel), and each of those really is float.
- ``test_case_is_what_it_claims``: each case's failure class reproduced with TensorFlow's own converter, without repair
  (plain int8 collapses on the sensitive layer, CUMSUM stays float, int16x8 refuses the branch calibration never takes,
  float ids stop calibration, the float .tflite is not bit-identical to TensorFlow): the corpus is honest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from corpora import Case, all_cases
from tests.conftest import Corpus

pytestmark = pytest.mark.slow

QUANT_CASES = [c.id for c in all_cases() if c.id.startswith("quantize/")]

# How far the metrics on the check rows may fall short of the budget the tool proved on its own held-out rows: the rows
# differ, so a mean moves a little (cosine), a fraction moves by a row or two (top1), a maximum grows with more rows.
MARGIN = {"cosine": 0.002, "top1": 0.05}
MAX_ABS_FACTOR = 1.5
DEFAULT_LIMITS = {"dynamic": {"cosine": 0.999}, "float16": {"cosine": 0.9999}, "int8": {"cosine": 0.99},
                  "int16x8": {"cosine": 0.999}}  # the defaults, restated here rather than read from the tool
SHAPE_OPS = {"SHAPE", "STRIDED_SLICE", "PACK", "GATHER", "REDUCE_PROD", "CONCATENATION", "LESS", "ADD", "SELECT_V2"}


def _flag(args: tuple[str, ...], name: str) -> str | None:
    return args[args.index(name) + 1] if name in args else None


def _budget(case: Case) -> dict[str, float]:
    """The case's ``--budget`` as {metric: limit} (every term here applies to every output), or the mode's default."""
    text = _flag(case.expect.fix_args, "--budget")
    if text is None:
        return DEFAULT_LIMITS[_flag(case.expect.fix_args, "--quantize") or ""]
    return {k.strip(): float(v) for k, v in (term.split("=") for term in text.split(","))}


def _check_rows(case_dir: Path) -> list[dict[str, np.ndarray]]:
    with np.load(case_dir / "check.npz") as data:
        arrays = {k: data[k] for k in data.files}
    count = len(next(iter(arrays.values())))
    return [{k: v[i:i + 1] for k, v in arrays.items()} for i in range(count)]


def _run_tflite(blob: bytes, rows: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_content=blob).get_signature_runner("serving_default")
    inputs, outputs = runner.get_input_details(), runner.get_output_details()
    results = []
    for row in rows:
        feeds = {}
        for name, value in row.items():
            dtype = inputs[name]["dtype"]
            scale, zero = inputs[name]["quantization"]
            if scale and np.dtype(dtype).kind in "iu" and value.dtype.kind == "f":
                info = np.iinfo(dtype)
                value = np.clip(np.round(value / scale + zero), info.min, info.max)
            feeds[name] = value.astype(dtype)
        got = runner(**feeds)
        result = {}
        for name, value in got.items():
            scale, zero = outputs[name]["quantization"]
            result[name] = (value.astype(np.float32) - zero) * scale if scale else value.astype(np.float32)
        results.append(result)
    return results


def _run_tf(artifact: Path, rows: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
    import tensorflow as tf

    fn = tf.saved_model.load(str(artifact), tags=["serve"]).signatures["serving_default"]
    return [{k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in row.items()}).items()} for row in rows]


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    return 1.0 if na == nb == 0 else float(a @ b / (na * nb)) if na and nb else 0.0


def _metrics(want: list[dict[str, np.ndarray]], got: list[dict[str, np.ndarray]]) -> dict[str, dict[str, float]]:
    """Per output: max_abs over everything, mean per-row cosine (one number per row: the cosine across rows), top1
    agreement over the last axis."""
    scores = {}
    for name in want[0]:
        w = np.stack([row[name] for row in want]).astype(np.float64)
        g = np.stack([row[name] for row in got]).astype(np.float64)
        cosines = []
        for a, b in zip(w.reshape(len(w), -1), g.reshape(len(g), -1), strict=True):
            na, nb = np.linalg.norm(a), np.linalg.norm(b)
            cosines.append(1.0 if na == nb == 0 else float(a @ b / (na * nb)) if na and nb else 0.0)
        scores[name] = {
            "max_abs": float(np.max(np.abs(w - g))) if np.isfinite(g).all() else float("inf"),
            "cosine": float(np.mean(cosines)) if w[0].size > 1 else _cos(w.ravel(), g.ravel()),
            "top1": float(np.mean(np.argmax(w, axis=-1) == np.argmax(g, axis=-1))),
        }
    return scores


def _ops(blob: bytes) -> Iterator[tuple[str, list[tuple[str, str, bool]], list[tuple[str, str]]]]:
    """Each operator of the main subgraph: its builtin name, inputs (name, dtype, constant), outputs (name, dtype)."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(blob, 0)
    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    types = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}

    def constant(t: Any) -> bool:
        buffer = model.buffers[t.buffer] if t.buffer else None
        return bool(buffer is not None and (buffer.data is not None or buffer.size))

    for graph in model.subgraphs:
        for op in graph.operators:
            code = model.operatorCodes[op.opcodeIndex]
            name = names[max(code.builtinCode, code.deprecatedBuiltinCode)]
            if name == "CUSTOM":
                name = f"CUSTOM:{code.customCode.decode()}"
            ins = [(graph.tensors[i].name.decode(), types[graph.tensors[i].type], constant(graph.tensors[i]))
                   for i in op.inputs if i >= 0]
            outs = [(graph.tensors[i].name.decode(), types[graph.tensors[i].type]) for i in op.outputs]
            yield name, ins, outs


def check_quantized(out: Path, case: Case, case_dir: Path, artifact: Path) -> None:
    """Do not trust the tool: the published quantized model, measured and read by this test alone."""
    report = json.loads((out / "report.json").read_text())
    quant = report["quantization"]
    mode = _flag(case.expect.fix_args, "--quantize")
    io = _flag(case.expect.fix_args, "--io") or "float"
    assert quant["mode"] == mode and quant["io"] == io, (quant["mode"], quant["io"])
    blob = (out / "model.tflite").read_bytes()
    assert blob != (out / "model_float.tflite").read_bytes()

    # Accuracy on rows the tool never saw, against the original artifact run by TensorFlow.
    rows = _check_rows(case_dir)
    scores = _metrics(_run_tf(artifact, rows), _run_tflite(blob, rows))
    for metric, limit in _budget(case).items():
        for output, achieved in scores.items():
            value = achieved[metric]
            if metric == "max_abs":
                assert value <= limit * MAX_ABS_FACTOR, f"{output}: max_abs {value:.4g} > {limit} x {MAX_ABS_FACTOR}"
            else:
                assert value >= limit - MARGIN[metric], f"{output}: {metric} {value:.5f} < {limit} - {MARGIN[metric]}"
    for term in quant["budget"]:  # and the tool's own figures say within budget
        assert term["ok"], term

    # The flatbuffer, read here: builtins only, really quantized, float exactly where the report says.
    ops = list(_ops(blob))
    assert not [name for name, _, _ in ops if name.startswith("CUSTOM:")], "custom or Flex ops in the quantized model"
    activation = {"int8": "INT8", "int16x8": "INT16"}.get(mode or "")
    if activation:
        assert any(dtype == activation for _, _, outs in ops for _, dtype in outs), f"no {activation} activations"
        assert any(dtype == "INT8" and const for _, ins, _ in ops for _, dtype, const in ins), "no int8 weights"
    if io != "float":
        from ai_edge_litert.interpreter import Interpreter

        runner = Interpreter(model_content=blob).get_signature_runner("serving_default")
        for detail in [*runner.get_input_details().values(), *runner.get_output_details().values()]:
            assert np.dtype(detail["dtype"]) == np.dtype(io), detail
    claimed = {layer["tensor"]: layer["op"] for layer in quant["float_layers"]}
    low, high = case.expect.quant_float_layers
    assert low <= len(claimed) <= high, f"{len(claimed)} layers kept float, expected {low}..{high}: {sorted(claimed)}"
    float_ops = {outs[0][0]: name for name, _, outs in ops
                 if name not in {"QUANTIZE", "DEQUANTIZE"} | SHAPE_OPS and outs and outs[0][1] == "FLOAT32"}
    for tensor, op in claimed.items():
        assert float_ops.get(tensor) == op, f"the report says {op} {tensor!r} stays float; the file says otherwise"
    no_kernel = " ".join(str(x) for x in quant["no_kernel"])
    for op in case.expect.quant_float_ops:
        assert op in float_ops.values(), f"{op} is not float in the file"
        assert op in no_kernel, f"{op} stays float but the report's no_kernel does not say so: {quant['no_kernel']}"
    if activation:
        unexplained = {t: op for t, op in float_ops.items() if t not in claimed and op not in no_kernel}
        assert not unexplained, f"ops computing in float that the report does not name: {unexplained}"


# ---- the corpus is honest: each failure class reproduced with TensorFlow's converter alone ----

def _convert(artifact: Path, rows: list[dict[str, np.ndarray]], int16: bool = False, io: Any = None) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(str(artifact))
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: (dict(row) for row in rows)
    if int16:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    if io is not None:
        converter.inference_input_type = converter.inference_output_type = io
    return bytes(converter.convert())


def _calibration_rows(case_dir: Path) -> list[dict[str, np.ndarray]]:
    with np.load(case_dir / "calibration.npz") as data:
        arrays = {k: data[k] for k in data.files}
    count = len(next(iter(arrays.values())))
    return [{k: v[i:i + 1] for k, v in arrays.items()} for i in range(count * 3 // 4)]


@pytest.mark.parametrize("case_id", QUANT_CASES)
def test_case_is_what_it_claims(corpus: Corpus, case_id: str) -> None:
    import tensorflow as tf

    artifact, case_dir = corpus.artifact(case_id), corpus.case_dir(case_id)
    name = case_id.split("/")[1]
    if name == "int8_within_budget":  # TF's own int8 with uint8 I/O meets the case's budget with room to spare
        rows = _check_rows(case_dir)
        scores = _metrics(_run_tf(artifact, rows), _run_tflite(_convert(artifact, _calibration_rows(case_dir),
                                                                        io=tf.uint8), rows))
        assert all(s["top1"] >= 0.95 and s["cosine"] >= 0.9995 for s in scores.values()), scores
    elif name == "sensitive_layer":  # plain int8 collapses: far below cosine 0.999
        rows = _check_rows(case_dir)
        scores = _metrics(_run_tf(artifact, rows), _run_tflite(_convert(artifact, _calibration_rows(case_dir)), rows))
        assert all(s["cosine"] < 0.9 for s in scores.values()), scores
    elif name == "no_int8_kernel":  # CUMSUM stays float even when the user asks for int8 builtins only
        rows = _check_rows(case_dir)
        blob = _convert(artifact, rows[:32])
        cumsum = [outs for op, _, outs in _ops(blob) if op == "CUMSUM"]
        assert cumsum and cumsum[0][0][1] == "FLOAT32", cumsum
    elif name == "dynamic_calibration":  # int16x8: no recorded range for the branch calibration never takes
        rng = np.random.default_rng(7)
        rows = [{"x": rng.standard_normal((1, 8)).astype(np.float32)} for _ in range(16)]
        with pytest.raises(Exception, match="Max and min for dynamic tensors should be recorded during calibration"):
            _convert(artifact, rows, int16=True)
        _convert(artifact, rows)  # int8 (the MLIR quantizer) converts the same model
    elif name == "calibration_dtype":  # the user's float ids stop TF's calibration; cast, they calibrate
        rows = _calibration_rows(case_dir)
        assert all(np.array_equal(r["tokens"], np.round(r["tokens"])) for r in rows)
        with pytest.raises(Exception, match="Got value of type FLOAT32 but expected type INT32"):
            _convert(artifact, rows)
        _convert(artifact, [{"tokens": r["tokens"].astype(np.int32)} for r in rows])
    elif name == "impossible_budget":  # even the float .tflite is not bit-identical to TensorFlow: max_abs=0 is out of reach
        rows = _check_rows(case_dir)[:20]
        blob = tf.lite.TFLiteConverter.from_saved_model(str(artifact)).convert()
        scores = _metrics(_run_tf(artifact, rows), _run_tflite(blob, rows))
        assert all(0 < s["max_abs"] < 1e-4 for s in scores.values()), scores
    else:
        pytest.fail(f"no claim checked for {case_id}: add one here")
