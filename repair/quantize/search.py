"""The budgeted search: the fewest layers kept float such that every budget term holds on the held-out samples.

dynamic, float16 and int16x8 are one conversion and one measurement: they have no per-layer choice here. int8:

1. calibrate once (``convert.calibrate``, the expensive part);
2. step 0: every layer quantized; measured; done if it holds;
3. otherwise rank the layers by their own error (``sensitivity.rank``), then keep the k worst float for
   k = 1, 2, 4, 8, ... (the last k is the number of ranked layers) until the budget holds;
4. bisect k between the last failing and the first passing k: the result keeps the fewest worst-ranked layers float
   that the search found to pass (the budget is not monotone in k in general, so this is the fewest among prefixes
   of the ranking that the bisection visits, not a global minimum over subsets).

If even every ranked layer kept float misses the budget, the run is refused with the figures of that attempt.
A replayed recipe (``--plan-in``: ``Quantize.float_layers`` set) is quantized exactly as recorded and measured, with
no search.

Cost, for n ranked layers: at most 1 (step 0) + ceil(log2 n) + 1 (k = 1, 2, 4, ..., n) + log2 of the last doubling
interval (bisection) steps, 14 for n = 65; each step is one ``mlir_quantize`` and one run of the held-out samples in
the interpreter. Calibration and ranking are paid once. Measured (2 shared cores): the test model (3 layers, 64
calibration and 64 held-out samples): calibration 1.07 s, ranking 0.03 s, each step 0.03 s. MobileNetV2 (alpha 0.35,
96x96, weights=None, 65 ranked layers, 32 + 32 samples, forced to search by max_abs=1e-6): calibration 15-17 s,
ranking 1.15 s, 13 steps of 0.14-0.37 s each, 3.1 s for the whole search: the search costs a fifth of the calibration.
"""

from __future__ import annotations

import time
from pathlib import Path

from repair.core.options import Metric, Quantize, QuantMode
from repair.quantize import Calibration, Feeds, LayerError, OutputScore, QuantResult, Recipe, Step
from repair.quantize.convert import calibrate, quantize
from repair.quantize.measure import latency, run_tflite, score
from repair.quantize.sensitivity import rank


def _measure(blob: bytes, cal: Calibration, expected: tuple[Feeds, ...], outputs: tuple[str, ...],
             request: Quantize) -> tuple[OutputScore, ...]:
    return score(expected, run_tflite(blob, cal.held_out), outputs, request.terms)


def _shortfall(scores: tuple[OutputScore, ...], samples: int) -> str:
    """``top1 of logits is 0.91 < 0.99`` for each failing term, joined; then the sample count."""
    words = []
    for s in scores:
        if s.ok:
            continue
        sign = ">" if s.metric is Metric.MAX_ABS else "<"
        achieved = "NaN" if s.achieved != s.achieved else f"{s.achieved:.6g}"
        words.append(f"{s.metric.value} of {s.output} is {achieved} {sign} {s.limit:g}")
    return f"{'; '.join(words)} on {samples} held-out samples"


def _finish(result: QuantResult, float_tflite: bytes, cal: Calibration, blob: bytes,
            layer_errors: dict[str, LayerError]) -> QuantResult:
    """Fill what every result carries: sizes, float ops, latencies (``seconds['measure']``)."""
    start = time.perf_counter()
    result.float_bytes = len(float_tflite)
    result.quant_bytes = len(blob)
    from repair.quantize.convert import float_ops  # lazily: convert.py's second half lands separately

    ops = float_ops(blob)
    kept = set(result.recipe.float_layers)
    result.float_ops = tuple(f"{op} {tensor}" for op, tensor in ops)
    result.no_kernel = tuple(f"{op} {tensor}" for op, tensor in ops if tensor not in kept)
    result.kept = tuple(layer_errors[name] for name in result.recipe.float_layers if name in layer_errors)
    if cal.held_out:
        result.float_latency = latency(float_tflite, cal.held_out[0])
        result.quant_latency = latency(blob, cal.held_out[0])
    result.seconds["measure"] = result.seconds.get("measure", 0.0) + time.perf_counter() - start
    return result


def _plain(saved_model: Path, float_tflite: bytes, cal: Calibration, expected: tuple[Feeds, ...],
           outputs: tuple[str, ...], request: Quantize) -> QuantResult:
    from repair.quantize.convert import convert_plain  # lazily: convert.py's second half lands separately

    recipe = Recipe(request.mode, request.io)
    result = QuantResult(recipe, request.terms, cal)
    start = time.perf_counter()
    blob = bytes(convert_plain(saved_model, request.mode, samples=cal.calibration if request.mode.calibrated else (),
                               io=request.io))
    result.seconds["calibrate" if request.mode.calibrated else "convert"] = time.perf_counter() - start
    start = time.perf_counter()
    scores = _measure(blob, cal, expected, outputs, request)
    seconds = time.perf_counter() - start
    result.seconds["measure"] = seconds
    result.steps = (Step((), scores, seconds, f"{request.mode.value}: one conversion"),)
    result.scores = scores
    result.tflite = blob
    if not all(s.ok for s in scores):
        result.refusal = (f"{request.mode.value} misses the budget: {_shortfall(scores, len(cal.held_out))}; "
                          "loosen --budget or choose another --quantize mode")
    _finish(result, float_tflite, cal, blob, {})
    if result.refusal:
        result.tflite = None
    return result


def run(saved_model: Path, float_tflite: bytes, cal: Calibration, expected: tuple[Feeds, ...],
        outputs: tuple[str, ...], request: Quantize) -> QuantResult:
    """Quantize ``saved_model`` by ``request`` and prove the budget on ``cal.held_out`` against ``expected``.

    ``expected[i]`` is the float original's output on ``cal.held_out[i]``, keyed by output name; ``float_tflite`` is
    the float conversion (its size and latency are the "before" figures). ``QuantFailed`` from the converter propagates.
    """
    if request.mode is not QuantMode.INT8:
        return _plain(saved_model, float_tflite, cal, expected, outputs, request)

    result = QuantResult(Recipe(QuantMode.INT8, request.io), request.terms, cal)
    start = time.perf_counter()
    calibrated = calibrate(saved_model, cal.calibration, float_tflite)
    result.seconds["calibrate"] = time.perf_counter() - start
    steps: list[Step] = []
    blobs: dict[int, bytes] = {}  # k -> the quantized model of that step

    def attempt(layers: tuple[str, ...], why: str) -> Step:
        begin = time.perf_counter()
        blob = quantize(calibrated, Recipe(QuantMode.INT8, request.io, layers))
        step = Step(layers, _measure(blob, cal, expected, outputs, request), time.perf_counter() - begin, why)
        steps.append(step)
        blobs[len(layers)] = blob
        return step

    if request.float_layers is not None:  # a replay: exactly the recorded recipe, measured; no search
        start = time.perf_counter()
        recorded = tuple(request.float_layers)
        step = attempt(recorded, "the recorded recipe, replayed" if recorded else "all layers quantized")
        result.seconds["search"] = time.perf_counter() - start
        start = time.perf_counter()
        # The report shows why each kept layer is float: its own error, measured the same way a search measures it.
        errors = {e.tensor: e for e in rank(saved_model, calibrated, Recipe(QuantMode.INT8, request.io), cal.calibration)
                  } if recorded else {}
        result.seconds["rank"] = time.perf_counter() - start
        result.recipe = Recipe(QuantMode.INT8, request.io, recorded)
        result.steps, result.scores, result.tflite = (step,), step.scores, blobs[len(recorded)]
        if not step.ok:
            what = f"the recorded recipe ({len(recorded)} layers kept float)" if recorded else "int8 with every layer quantized"
            result.refusal = f"{what} misses the budget: {_shortfall(step.scores, len(cal.held_out))}"
        _finish(result, float_tflite, cal, blobs[len(recorded)], errors)
        if result.refusal:
            result.tflite = None
        return result

    search_seconds = 0.0
    start = time.perf_counter()
    first = attempt((), "all layers quantized")
    search_seconds += time.perf_counter() - start
    ranking: tuple[LayerError, ...] = ()
    final = first
    if not first.ok:
        start = time.perf_counter()
        ranking = rank(saved_model, calibrated, Recipe(QuantMode.INT8, request.io), cal.calibration)
        result.seconds["rank"] = time.perf_counter() - start
        start = time.perf_counter()
        names = tuple(e.tensor for e in ranking)
        n = len(names)
        failing, passing = 0, None  # k of the last failing and the first passing step
        k = 1
        while n and passing is None:
            k = min(k, n)
            step = attempt(names[:k], "every ranked layer float" if k == n else
                           f"the {k} most sensitive layer{'s' if k > 1 else ''} float")
            if step.ok:
                passing, final = k, step
            else:
                failing, final = k, step
                if k == n:
                    break
                k *= 2
        while passing is not None and passing - failing > 1:
            mid = (failing + passing) // 2
            step = attempt(names[:mid], f"bisection: the {mid} most sensitive layer{'s' if mid > 1 else ''} float")
            if step.ok:
                passing, final = mid, step
            else:
                failing = mid
        search_seconds += time.perf_counter() - start
        if not n:
            result.refusal = (f"int8 with every layer quantized misses the budget "
                              f"({_shortfall(first.scores, len(cal.held_out))}) and no layer could be ranked to keep float; "
                              "loosen --budget or use --quantize int16x8/float16")
        elif passing is None:
            result.refusal = (f"even with all {n} quantizable layer{'s' if n != 1 else ''} kept float, "
                              f"{_shortfall(final.scores, len(cal.held_out))}: the budget cannot be met by int8 here; "
                              "loosen --budget or use --quantize int16x8/float16")
        elif passing == n:  # the budget holds only with nothing quantized: that is the float model, not an int8 one
            fewer = next(x for x in reversed(steps) if not x.ok)
            result.refusal = (f"only keeping all {n} quantizable layer{'s' if n != 1 else ''} float meets the budget, "
                              f"which quantizes nothing (with {len(fewer.float_layers)} float, "
                              f"{_shortfall(fewer.scores, len(cal.held_out))}): the budget cannot be met by int8 here; "
                              "loosen --budget or use --quantize int16x8/float16")
    result.seconds["search"] = search_seconds
    blob = blobs[len(final.float_layers)]
    result.recipe = Recipe(QuantMode.INT8, request.io, final.float_layers)
    result.steps, result.scores, result.ranking, result.tflite = tuple(steps), final.scores, ranking, blob
    _finish(result, float_tflite, cal, blob, {e.tensor: e for e in ranking})
    if result.refusal:
        result.tflite = None
    return result


__all__ = ["run"]
