"""Judging a wild case's `repair fix` run without trusting the tool.

For a case that must be repaired: exit 0, ``OUT/model.tflite`` exists, OUT loads with tag ``serve`` and its
``serving_default`` reproduces the reference outputs (computed from the user's live model at build time), OUT
converts with the *default* TFLiteConverter (builtins only), the .tflite carries no resource variables unless
the case allows them, and the LiteRT interpreter reproduces the reference outputs too. For a case that must be
refused: the documented exit code, no OUT, and the reason in the message. Always: the input is byte-identical.

``judge()`` returns the list of problems found (empty = the case passed); the test asserts on it and
``python -m corpora.wild.report`` tabulates it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpora.wild._core import WildCase, read_reference

RESOURCE_OPS = ("VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE")


def tree_digest(path: Path) -> str:
    """A digest of every file's relative path and bytes (same as tests/conftest.py)."""
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        h.update(str(f.relative_to(path.parent if path.is_file() else path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def fix_args(case: WildCase, case_dir: Path) -> list[str]:
    """The case's user flags with ``{case_dir}`` filled in."""
    return [a.replace("{case_dir}", str(case_dir)) for a in case.args]


def _renames(case: WildCase) -> dict[str, str]:
    renames = dict(case.key_map)
    args = list(case.args)
    for flag, value in itertools.pairwise(args):
        if flag == "--rename" and "=" in value:
            old, new = value.split("=", 1)
            renames.setdefault(old, new)
    return renames


def _feeds(case: WildCase, inputs: dict[str, Any], wanted: list[str]) -> dict[str, Any]:
    """Reference inputs keyed by the repaired signature's input keys."""
    renames = _renames(case)
    feeds = {renames.get(k, k): v for k, v in inputs.items()}
    if set(feeds) != set(wanted) and len(feeds) == 1 == len(wanted):
        feeds = {wanted[0]: next(iter(feeds.values()))}  # one input: its key is not the question here
    if set(feeds) != set(wanted):
        raise AssertionError(f"repaired inputs {sorted(wanted)} do not match the reference {sorted(feeds)}")
    return feeds


def _pairs(got: dict[str, Any], want: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Match produced outputs to reference outputs: by key, else the single output, else sorted order."""
    if set(got) == set(want):
        return [(k, got[k], want[k]) for k in sorted(want)]
    if len(got) == 1 == len(want):
        return [(next(iter(got)), next(iter(got.values())), next(iter(want.values())))]
    if len(got) == len(want):
        return [(g, got[g], want[w]) for g, w in zip(sorted(got), sorted(want))]
    raise AssertionError(f"outputs {sorted(got)} do not match the reference outputs {sorted(want)}")


def _compare(where: str, case: WildCase, got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    import numpy as np

    problems = []
    for key, g, w in _pairs(got, want):
        g, w = np.asarray(g), np.asarray(w)
        if w.dtype.kind in "OSU":
            if not np.array_equal(g, w):
                problems.append(f"{where}: output {key} differs from the reference")
            continue
        if g.shape != w.shape:
            problems.append(f"{where}: output {key} has shape {g.shape}, reference {w.shape}")
            continue
        if not np.allclose(g.astype("float64"), w.astype("float64"), atol=case.atol, rtol=case.rtol):
            diff = float(np.max(np.abs(g.astype("float64") - w.astype("float64"))))
            problems.append(f"{where}: output {key} max |diff| {diff:.3g} > atol {case.atol} / rtol {case.rtol}")
    return problems


def judge_repaired(case: WildCase, case_dir: Path, out: Path) -> list[str]:
    """Load, run, reconvert and interpret OUT ourselves and compare with the reference outputs."""
    import numpy as np
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    problems: list[str] = []
    if not (out / "model.tflite").is_file():
        problems.append("OUT/model.tflite is missing")
    inputs, outputs, repaired_inputs = read_reference(case_dir)
    if repaired_inputs:
        inputs = repaired_inputs
    loaded = tf.saved_model.load(str(out), tags=["serve"])
    if "serving_default" not in loaded.signatures:
        return [*problems, f"OUT has no serving_default (signatures: {sorted(loaded.signatures)})"]
    fn = loaded.signatures["serving_default"]
    specs = fn.structured_input_signature[1]
    for name, shape in case.pinned.items():
        got_shape = tuple(specs[name].shape.as_list()) if name in specs else None
        if got_shape != tuple(shape):
            problems.append(f"pin not honoured: input {name} has shape {got_shape}, asked for {tuple(shape)}")
    feeds = _feeds(case, inputs, list(specs))
    feeds = {k: np.asarray(v).astype(specs[k].dtype.as_numpy_dtype) if specs[k].dtype != tf.string else v
             for k, v in feeds.items()}
    tf_out = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
    problems += _compare("TF serving_default", case, tf_out, outputs)

    try:
        blob = tf.lite.TFLiteConverter.from_saved_model(str(out)).convert()
    except Exception as exc:  # noqa: BLE001 - any converter failure is the verdict
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return [*problems, f"default TFLiteConverter fails on OUT: {first[:200]}"]
    interpreter = Interpreter(model_content=blob)
    ops = {op["op_name"] for op in interpreter._get_ops_details()}  # noqa: SLF001 - the only op listing it has
    bad = sorted(op for op in ops if op.startswith("Flex") or op.upper().startswith(("FLEX", "CUSTOM")))
    if bad:
        problems.append(f"OUT needs Flex/custom ops: {bad}")
    if not case.allow_resource_ops and ops & set(RESOURCE_OPS):
        problems.append(f"resource state left in the .tflite: {sorted(ops & set(RESOURCE_OPS))}")
    runner = interpreter.get_signature_runner("serving_default")
    lite_out = runner(**feeds)
    problems += _compare("TFLite", case, lite_out, outputs)
    return problems


def judge(case: WildCase, artifact: Path, case_dir: Path, out: Path, report_dir: Path,
          exit_code: int, text: str, digest_before: str) -> list[str]:
    """Every problem with one `repair fix` run of ``case`` (empty list: the case passed)."""
    problems: list[str] = []
    if tree_digest(artifact) != digest_before:
        problems.append("the input artifact was modified")
    report_path = report_dir / "report.json"
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    message = str(report.get("message", ""))
    if case.expect == "refused":
        if exit_code not in case.exit_codes:
            problems.append(f"exit {exit_code}, expected {case.exit_codes} (refused): {message or text[-300:]}")
        if out.exists():
            problems.append("a refused run published OUT")
        # What the user reads (the message and the CLI output), not the verbatim evidence buried in the JSON:
        # an op name inside a converter trace does not count as the tool naming the reason.
        haystack = (message + "\n" + text).lower()
        if case.reason.lower() not in haystack:
            problems.append(f"the refusal does not name the reason {case.reason!r}: {message or text[-300:]}")
        return problems
    if exit_code != 0:
        return [*problems, f"exit {exit_code}: {message or text.strip()[-300:]}"]
    applied = [f.get("rewrite") for f in report.get("fixes", []) if f.get("outcome") == "applied"]
    missing = [r for r in case.rewrites if r not in applied]
    if missing:
        problems.append(f"expected rewrites not applied: {missing} (applied: {applied})")
    try:
        problems += judge_repaired(case, case_dir, out)
    except AssertionError as exc:
        problems.append(str(exc))
    except Exception as exc:  # noqa: BLE001 - a crash of the published model is a verdict too
        problems.append(f"OUT fails the independent check: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    return problems


def outcome_message(report_dir: Path, text: str) -> str:
    """The tool's one-line message (report.json, else the last output line)."""
    path = report_dir / "report.json"
    if path.is_file():
        msg = str(json.loads(path.read_text()).get("message", "")).strip()
        if msg:
            return msg.splitlines()[0]
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


# ---- the quantized model (`repair fix ... --quantize MODE`), judged without the tool's numbers ----

QUANT_ROWS = 16  # fresh rows per case, besides the reference rows
QUANT_ACTIVATION = {"int8": "INT8", "int16x8": "INT16"}  # the activation dtype a full-integer mode must produce


@dataclass
class QuantVerdict:
    """What the judge measured on a published quantized ``model.tflite`` (its own numbers, not the tool's)."""

    problems: list[str] = field(default_factory=list)
    cosine: dict[str, float] = field(default_factory=dict)  # per output: mean cosine over every judged row
    rows: int = 0  # rows judged (reference rows + fresh rows)
    float_bytes: int = 0  # OUT/model_float.tflite
    quant_bytes: int = 0  # OUT/model.tflite


def _rows(feeds: dict[str, Any]) -> list[dict[str, Any]]:
    """Split batched feeds into batch-1 rows (every input's leading dim is the batch)."""
    import numpy as np

    count = min(len(np.asarray(v)) for v in feeds.values())
    return [{k: np.asarray(v)[i:i + 1] for k, v in feeds.items()} for i in range(count)]


def fresh_rows(reference: dict[str, Any], count: int, seed: int) -> list[dict[str, Any]]:
    """``count`` new batch-1 rows shaped like the reference rows: floats drawn around the reference's own mean and
    spread, integers and strings drawn from the values the reference holds (ids outside them mean nothing)."""
    import numpy as np

    rng = np.random.default_rng([11, seed])
    rows: list[dict[str, Any]] = [{} for _ in range(count)]
    for key, value in reference.items():
        value = np.asarray(value)
        shape = (1, *value.shape[1:])
        for row in rows:
            if value.dtype.kind == "f":
                mean, std = float(value.mean()), float(value.std()) or 1.0
                row[key] = (mean + std * rng.standard_normal(shape)).astype(value.dtype)
            else:  # int, bool, bytes: the reference's own vocabulary
                row[key] = rng.choice(value.ravel(), size=shape)
    return rows


def _quant_runner(blob: bytes) -> Any:
    from ai_edge_litert.interpreter import Interpreter

    return Interpreter(model_content=blob).get_signature_runner("serving_default")


def _quantized_io(detail: dict[str, Any]) -> tuple[float, int] | None:
    """(scale, zero point) when this signature tensor is an integer tensor quantized per tensor."""
    import numpy as np

    scales = detail["quantization_parameters"]["scales"]
    if np.dtype(detail["dtype"]).kind not in "iu" or len(scales) != 1:
        return None
    return float(scales[0]), int(detail["quantization_parameters"]["zero_points"][0])


def _run_quantized(runner: Any, row: dict[str, Any]) -> dict[str, Any]:
    """One row through the quantized model: inputs quantized, outputs dequantized by the tensors' own parameters."""
    import numpy as np

    ins, outs = runner.get_input_details(), runner.get_output_details()
    feeds = {}
    for name, detail in ins.items():
        value, params, dtype = np.asarray(row[name]), _quantized_io(detail), np.dtype(detail["dtype"])
        if params is not None and value.dtype.kind == "f":
            scale, zero = params
            info = np.iinfo(dtype)
            value = np.clip(np.round(value.astype(np.float64) / scale + zero), info.min, info.max)
        feeds[name] = value if dtype.kind in "OSU" else value.astype(dtype)
    got = runner(**feeds)
    result = {}
    for name, detail in outs.items():
        params = _quantized_io(detail)
        value = np.asarray(got[name])
        result[name] = value if params is None else (value.astype(np.float64) - params[1]) * params[0]
    return result


def _cos(a: Any, b: Any) -> float:
    import numpy as np

    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0
    return float(a @ b / (na * nb)) if na and nb else 0.0


def _tensor_dtypes(blob: bytes) -> tuple[set[str], set[str], list[str]]:
    """(activation dtypes, constant-input dtypes, op names) of every subgraph, read from the flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(blob, 0)
    op_names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    type_names = {v: k for k, v in vars(schema.TensorType).items() if not k.startswith("_")}
    activations: set[str] = set()
    weights: set[str] = set()
    ops: list[str] = []
    for graph in model.subgraphs or []:
        for op in graph.operators or []:
            code = model.operatorCodes[op.opcodeIndex]
            name = op_names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "?")
            ops.append(f"CUSTOM:{code.customCode.decode()}" if name == "CUSTOM" else name)
            for i in op.outputs:
                activations.add(type_names[graph.tensors[i].type])
            for i in op.inputs:
                if i < 0:
                    continue
                t = graph.tensors[i]
                buffer = model.buffers[t.buffer] if t.buffer else None
                if buffer is not None and (buffer.data is not None or buffer.size):
                    weights.add(type_names[t.type])
    return activations, weights, ops


def judge_quantized(case: WildCase, case_dir: Path, out: Path, mode: str, limit: float) -> QuantVerdict:
    """The published quantized ``OUT/model.tflite`` measured by us: builtins only, really quantized, and its cosine
    per output (mean over rows of the flattened outputs' cosine) against the float model run by TensorFlow.

    Two kinds of rows, neither seen by the tool: the reference rows, compared with the outputs of the user's live
    model (computed at build time), and ``QUANT_ROWS`` fresh rows, compared with OUT's float SavedModel run by
    TensorFlow (the float judge ties that model to the original on the reference). ``limit`` is the cosine budget.
    """
    import numpy as np
    import tensorflow as tf

    verdict = QuantVerdict()
    blob_path, float_path = out / "model.tflite", out / "model_float.tflite"
    if not blob_path.is_file() or not float_path.is_file():
        verdict.problems.append("OUT/model.tflite or OUT/model_float.tflite is missing")
        return verdict
    blob = blob_path.read_bytes()
    verdict.quant_bytes, verdict.float_bytes = len(blob), float_path.stat().st_size
    activations, weights, ops = _tensor_dtypes(blob)
    bad = sorted({op for op in ops if op.startswith("CUSTOM:") or op.upper().startswith("FLEX")})
    if bad:
        verdict.problems.append(f"quantized model needs Flex/custom ops: {bad}")
    want = QUANT_ACTIVATION.get(mode)
    if want and want not in activations:
        verdict.problems.append(f"no {want} activations in the quantized model (activation dtypes: {sorted(activations)})")
    if mode in {"int8", "int16x8", "dynamic"} and "INT8" not in weights:
        verdict.problems.append(f"no int8 weights in the quantized model (constant dtypes: {sorted(weights)})")

    inputs, outputs, repaired_inputs = read_reference(case_dir)
    if repaired_inputs:
        inputs = repaired_inputs
    fn = tf.saved_model.load(str(out), tags=["serve"]).signatures["serving_default"]
    specs = fn.structured_input_signature[1]
    reference = _feeds(case, inputs, list(specs))
    reference = {k: np.asarray(v).astype(specs[k].dtype.as_numpy_dtype) if specs[k].dtype != tf.string else v
                 for k, v in reference.items()}
    runner = _quant_runner(blob)
    cosines: dict[str, list[float]] = {}
    singles: dict[str, list[tuple[float, float]]] = {}

    def score(got: dict[str, Any], expected: dict[str, Any]) -> None:
        for key, g, w in _pairs(got, expected):
            g, w = np.asarray(g), np.asarray(w)
            if w.dtype.kind not in "fc":  # ids, strings: a quantized model must reproduce them exactly
                cosines.setdefault(key, []).append(1.0 if np.array_equal(g.astype(w.dtype), w) else 0.0)
            elif w.size == 1:  # one number per row: judged across rows below (one row's cosine is its sign)
                singles.setdefault(key, []).append((float(g.ravel()[0]), float(w.ravel()[0])))
            else:
                cosines.setdefault(key, []).append(_cos(g, w))

    ref_out = _rows(outputs)
    for row, expected in zip(_rows(reference), ref_out, strict=False):
        score(_run_quantized(runner, row), expected)
    for row in fresh_rows(reference, QUANT_ROWS, seed=len(case.id)):
        tf_out = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in row.items()}).items()}
        score(_run_quantized(runner, row), tf_out)
    verdict.rows = len(ref_out) + QUANT_ROWS
    verdict.cosine = {k: float(np.mean(v)) for k, v in cosines.items()}
    verdict.cosine.update({k: _cos(np.array([g for g, _ in v]), np.array([w for _, w in v])) for k, v in singles.items()})
    for key, value in verdict.cosine.items():
        if value < limit:
            verdict.problems.append(f"output {key}: cosine {value:.4f} < budget {limit} (our own measurement)")
    return verdict
