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
