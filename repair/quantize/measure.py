"""Running a quantized .tflite on samples, scoring its outputs against the float original, and timing it.

Everything runs in the LiteRT interpreter (``ai_edge_litert``) through the ``serving_default`` signature runner, so
inputs and outputs are addressed by their signature names, never by position. A model with integer I/O (``--io
int8|uint8``) takes the float sample quantized with its input's own scale and zero point, and its integer outputs are
dequantized with theirs: every score compares floats with floats.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

import numpy as np

from repair.core.options import BudgetTerm, Metric
from repair.core.tfenv import captured_stderr
from repair.model.artifact import SERVING_DEFAULT
from repair.quantize import Feeds, OutputScore


def _runner(blob: bytes) -> Any:  # ai_edge_litert's SignatureRunner: untyped
    from ai_edge_litert.interpreter import Interpreter

    with captured_stderr():  # "Created TensorFlow Lite XNNPACK delegate" and friends
        interpreter = Interpreter(model_content=blob, num_threads=2)
        return interpreter.get_signature_runner(SERVING_DEFAULT)


def _scale(detail: dict[str, Any]) -> tuple[float, int] | None:
    """The (scale, zero point) of an integer tensor quantized per tensor, or None for a float tensor."""
    if not np.issubdtype(np.dtype(detail["dtype"]), np.integer):
        return None
    scales = detail["quantization_parameters"]["scales"]
    zeros = detail["quantization_parameters"]["zero_points"]
    if len(scales) != 1:  # an integer input that is not quantized (ids, counts): fed as given
        return None
    return float(scales[0]), int(zeros[0])


def _feed(value: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    quant = _scale(detail)
    if quant is None or not np.issubdtype(np.asarray(value).dtype, np.floating):
        return np.asarray(value).astype(dtype, copy=False)
    scale, zero = quant
    info = np.iinfo(dtype)
    return np.clip(np.round(np.asarray(value, np.float64) / scale + zero), info.min, info.max).astype(dtype)


def _read(value: np.ndarray, detail: dict[str, Any]) -> np.ndarray:
    quant = _scale(detail)
    if quant is None:
        return np.asarray(value)
    scale, zero = quant
    return ((np.asarray(value).astype(np.float64) - zero) * scale).astype(np.float32)


def run_tflite(blob: bytes, samples: tuple[Feeds, ...]) -> tuple[Feeds, ...]:
    """The model's outputs on each sample, as float arrays keyed by signature output name (integer outputs dequantized).

    ``samples`` are keyed by signature input name, batch 1 each; a quantized input gets the float sample quantized
    with that input's scale and zero point.
    """
    runner = _runner(blob)
    inputs = runner.get_input_details()
    outputs = runner.get_output_details()
    results: list[Feeds] = []
    with captured_stderr():
        for sample in samples:
            got = runner(**{name: _feed(sample[name], inputs[name]) for name in inputs})
            results.append({name: _read(got[name], outputs[name]) for name in outputs})
    return tuple(results)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0.0 and nb == 0.0:
        return 1.0  # two all-zero outputs agree exactly
    if na == 0.0 or nb == 0.0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def _top1(expected: np.ndarray, got: np.ndarray) -> tuple[int, int]:
    """(rows that agree, rows): argmax over the last axis per row; a 1-element last axis compares signs."""
    e = np.asarray(expected, np.float64)
    g = np.asarray(got, np.float64)
    if e.ndim == 0:
        e, g = e.reshape(1, 1), g.reshape(1, 1)
    e = e.reshape(-1, e.shape[-1])
    g = g.reshape(-1, g.shape[-1])
    one = e.shape[-1] == 1  # a single logit: the class is its sign
    agree = (e[:, 0] > 0) == (g[:, 0] > 0) if one else np.argmax(e, axis=-1) == np.argmax(g, axis=-1)
    return int(np.count_nonzero(agree)), int(agree.size)


def _achieved(metric: Metric, expected: list[np.ndarray], got: list[np.ndarray]) -> float:
    if any(not np.all(np.isfinite(g)) for g in got):
        return float("nan")  # NaN or inf in the quantized output fails every metric (Metric.holds refuses NaN)
    if metric is Metric.MAX_ABS:
        return max((float(np.max(np.abs(g.astype(np.float64) - e))) if e.size else 0.0 for e, g in zip(expected, got)),
                   default=0.0)
    if metric is Metric.COSINE:
        if expected and all(e.size == 1 for e in expected):
            # One number per sample: its "cosine" would be the sign agreement (+1 or -1), so one near-zero output that
            # flips sign costs 2/N (the wild lstm_keras3_export, Dense(1): 0.969 with every layer float). The cosine of
            # the output across the held-out samples measures what the user means.
            return _cosine(np.concatenate([e.ravel() for e in expected]), np.concatenate([g.ravel() for g in got]))
        return float(np.mean([_cosine(e, g) for e, g in zip(expected, got)])) if expected else 1.0
    agree = rows = 0
    for e, g in zip(expected, got):
        a, n = _top1(e, g)
        agree, rows = agree + a, rows + n
    return agree / rows if rows else 1.0


def score(expected: tuple[Feeds, ...], got: tuple[Feeds, ...], outputs: tuple[str, ...],
          terms: tuple[BudgetTerm, ...]) -> tuple[OutputScore, ...]:
    """Each budget term on each output it applies to (a term without ``output`` applies to every output).

    ``expected[i]`` and ``got[i]`` are the float original's and the quantized model's outputs on sample ``i``.
    """
    scores: list[OutputScore] = []
    for term in terms:
        if term.output is not None and term.output not in outputs:  # a budget on no output cannot be shown to hold
            scores.append(OutputScore(term.output, term.metric, term.limit, float("nan")))
        for name in outputs:
            if term.output is not None and term.output != name:
                continue
            e = [np.asarray(sample[name], np.float64) for sample in expected]
            g = [np.asarray(sample[name]) for sample in got]
            scores.append(OutputScore(name, term.metric, term.limit, _achieved(term.metric, e, g)))
    return tuple(scores)


def latency(blob: bytes, sample: Feeds, runs: int = 15) -> float:
    """Median seconds of one call of the signature runner on ``sample``, after two warm-up calls."""
    runner = _runner(blob)
    inputs = runner.get_input_details()
    feeds = {name: _feed(sample[name], inputs[name]) for name in inputs}
    times: list[float] = []
    with captured_stderr():
        for _ in range(2):
            runner(**feeds)
        for _ in range(runs):
            start = time.perf_counter()
            runner(**feeds)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


__all__ = ["latency", "run_tflite", "score"]
