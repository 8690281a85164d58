"""Judging a source case's export without trusting the tool: run the script as a user would, read what it exported.

Used by tests/e2e/test_codemod_e2e.py and by ``python -m corpora.sources.report`` (the wild-script results table). The
checks read the artifacts themselves (the SavedModel through TensorFlow, the .tflite through the LiteRT
interpreter's op list and signature runner); nothing here imports ``repair``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from corpora.sources import SourceCase

__all__ = ["ScriptFailed", "Verdict", "export_verdict", "reference", "run_script"]


class ScriptFailed(RuntimeError):
    """The script exited non-zero or exported nothing; the message ends with its stderr's tail."""


def run_script(script: Path, out_dir: Path) -> Path:
    """``python SCRIPT OUT_DIR`` in a fresh process (cwd OUT_DIR); the script sets TF_USE_LEGACY_KERAS itself."""
    out_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONHASHSEED="0", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run([sys.executable, str(script), str(out_dir)], capture_output=True, text=True, cwd=out_dir,
                          env=env)
    if proc.returncode != 0:
        raise ScriptFailed(f"{script.name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    if not (out_dir / "saved_model" / "saved_model.pb").is_file() or not (out_dir / "reference.npz").is_file():
        raise ScriptFailed(f"{script.name} wrote no saved_model/ or reference.npz in {out_dir}")
    return out_dir


def reference(run_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The probe's record: inputs the script used and its in-memory model's outputs on them."""
    with np.load(run_dir / "reference.npz") as z:
        inputs = {k[3:]: z[k] for k in z.files if k.startswith("in:")}
        outputs = {k[4:]: z[k] for k in z.files if k.startswith("out:")}
    return inputs, outputs


@dataclass
class Verdict:
    """What the export is, read from it: problems (empty = deployable and equal) and the worst |diff| per check."""

    problems: list[str] = field(default_factory=list)
    max_abs: dict[str, float] = field(default_factory=dict)  # "script" / "saved_model" / "tflite" -> max |diff|
    ops: list[str] = field(default_factory=list)  # the default conversion's op names

    @property
    def ok(self) -> bool:
        return not self.problems


def _compare(got: dict[str, Any], want: dict[str, np.ndarray], what: str, case: SourceCase, verdict: Verdict) -> None:
    if set(got) != set(want):
        verdict.problems.append(f"{what}: output keys {sorted(got)}, expected {sorted(want)}")
        return
    worst = 0.0
    for key, value in want.items():
        a, b = np.asarray(got[key], dtype=np.float64), value.astype(np.float64)
        if a.shape != b.shape:
            verdict.problems.append(f"{what}: output {key} has shape {a.shape}, expected {b.shape}")
            return
        worst = max(worst, float(np.max(np.abs(a - b))) if a.size else 0.0)
        if not np.allclose(a, b, atol=case.atol, rtol=case.rtol):
            verdict.problems.append(f"{what}: output {key} differs (max |diff| {float(np.max(np.abs(a - b))):.3g}, "
                                    f"atol {case.atol:g}, rtol {case.rtol:g})")
    verdict.max_abs[what] = worst


def export_verdict(case: SourceCase, original: Path, fixed: Path) -> Verdict:
    """Judge the rewritten script's run (``fixed``) against the original's (``original``): the in-memory outputs,
    the SavedModel's ``serving_default`` and the default (builtins-only) .tflite all match the original script's
    outputs; no Flex or custom op; pinned inputs have exactly the pinned shape; a ``no_while`` case holds no WHILE."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    verdict = Verdict()
    renames = case.rename_map()
    inputs, want = reference(original)
    feeds = {renames.get(k, k): v for k, v in inputs.items()}
    want = {renames.get(k, k): v for k, v in want.items()}
    own_inputs, own = reference(fixed)
    if set(own_inputs) != set(inputs) or not all(np.array_equal(own_inputs[k], inputs[k]) for k in inputs):
        verdict.problems.append("the rewritten script fed its model other inputs than the original")
    _compare({renames.get(k, k): v for k, v in own.items()}, want, "script", case, verdict)

    model_dir = str(fixed / "saved_model")
    fn = tf.saved_model.load(model_dir, tags=["serve"]).signatures["serving_default"]
    keys = set(fn.structured_input_signature[1])
    if keys != set(feeds):
        verdict.problems.append(f"serving input keys {sorted(keys)}, expected {sorted(feeds)}")
        return verdict
    _compare({k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in feeds.items()}).items()}, want,
             "saved_model", case, verdict)

    try:
        blob = tf.lite.TFLiteConverter.from_saved_model(model_dir).convert()
    except Exception as exc:  # the converter's own error is the verdict
        verdict.problems.append(f"default conversion failed: {str(exc).strip().splitlines()[-1][:300]}")
        return verdict
    interpreter = Interpreter(model_content=blob)
    verdict.ops = sorted({d["op_name"] for d in interpreter._get_ops_details()})
    foreign = [op for op in verdict.ops if op.startswith("Flex") or op == "CUSTOM"]
    if foreign:
        verdict.problems.append(f"Flex/custom ops in the .tflite: {foreign}")
    if case.no_while and "WHILE" in verdict.ops:
        verdict.problems.append("a WHILE loop is left in the .tflite")
    runner = interpreter.get_signature_runner("serving_default")
    shapes = {name: [int(d) for d in detail["shape_signature"]] for name, detail in runner.get_input_details().items()}
    for name, dims in case.pin_dims().items():
        pinned = [-1 if d is None else d for d in dims]
        got = shapes.get(renames.get(name, name))
        if got != pinned:
            verdict.problems.append(f"input {name}: shape_signature {got}, pinned {pinned}")
    if not foreign:
        _compare(runner(**feeds), want, "tflite", case, verdict)
    return verdict
