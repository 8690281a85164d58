"""The quantization stage: after the float model passed the gate, quantize it within the budget, or say why not.

``repair fix --quantize MODE`` runs ``quantize_output`` on the verified float output: it takes the representative
data (``--calibration`` or generated with ``--calibration-samples``), computes the float ORIGINAL's outputs on the
held-out samples with TensorFlow (the same reference parity uses), and hands both to ``repair.quantize.search``. What
comes back becomes findings (the quantizer refused, the budget cannot be met, float islands), gate checks (builtins
only, runs in LiteRT, each budget term, each ``--target`` re-checked on the quantized model) and the report's section.
``repair diagnose --quantize MODE`` runs the same stage once without a search (``one_shot``): every layer quantized,
measured, the worst layers named.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from repair.core.errors import BadInput
from repair.core.findings import WORDING, Finding, FindingKind, Severity, Source, worded
from repair.core.options import Options, Quantize, QuantMode, Target
from repair.fix.diagnose import Diagnosis, Reference
from repair.fix.result import GateCheck
from repair.fix.targets import requested, run_checks
from repair.model.artifact import SERVING_DEFAULT
from repair.model.tflite import inspect_tflite
from repair.model.working import Entry, WorkingModel
from repair.quantize import Calibration, Feeds, QuantFailed, QuantResult
from repair.targets import TargetReport

_LISTED = 5  # layers or ops named in a finding's title; the report lists all of them


@dataclass
class QuantOutcome:
    """The stage's verdict on one model: the result (None when the quantizer refused), findings and gate checks."""

    request: Quantize
    result: QuantResult | None
    findings: list[Finding] = field(default_factory=list)
    checks: list[GateCheck] = field(default_factory=list)
    targets: list[TargetReport] = field(default_factory=list)  # each requested target, checked on the quantized model
    seconds: float = 0.0

    @property
    def refused(self) -> bool:
        """The budget cannot be met, or the quantizer refused: nothing the gate could pass."""
        return self.result is None or bool(self.result.refusal)


def check_request(model: WorkingModel, options: Options) -> None:
    """Bad input said before anything converts: budget terms naming no output, a calibration file that cannot feed
    the inputs (checked against the first model with a serving entry; rewrites keep the input contract's names)."""
    request = options.quantize
    if request is None or model.entry is None:
        return
    outputs = {n for p in model.entry.outputs for n in (p.name, p.origin)}
    for term in request.terms:
        if term.output is not None and term.output not in outputs:
            raise BadInput(f"--budget {term.text}: no output is called '{term.output}' "
                           f"(outputs: {', '.join(p.name for p in model.entry.outputs)})")
    if request.calibration is not None:
        from repair.quantize.calibration import from_file

        from_file(request.calibration, model.entry.inputs, options, request.held_out_samples)


def calibration_data(entry: Entry, options: Options, request: Quantize, parity_feeds: Feeds | None = None) -> Calibration:
    """The run's representative data: the user's file, or generated samples the user accepted; ``--sample`` rows,
    when given, are the held-out set (real inputs measure the budget better than a split of the file).

    Generated integer inputs stay below the largest value parity's inputs held (``parity_feeds``: parity learned the
    bound the model accepts, e.g. an Embedding's vocabulary size, from the reference's own range error)."""
    from repair.quantize import calibration

    if request.calibration is not None:
        cal = calibration.from_file(request.calibration, entry.inputs, options, request.held_out_samples)
    else:
        count = request.calibration_samples or 32  # weight-only modes need no calibration: held-out samples only
        ints = {p.name: int(np.max(parity_feeds[p.name])) + 1 for p in entry.inputs
                if parity_feeds is not None and p.name in parity_feeds and parity_feeds[p.name].size
                and np.asarray(parity_feeds[p.name]).dtype.kind in "iu"}
        cal = calibration.generated(entry.inputs, options, count, request.held_out_samples, int_high=ints or None)
    if options.sample is not None:
        cal = calibration.held_out_from_sample(cal, options.sample, entry.inputs, options)
    return cal


def expected_outputs(reference: Reference, entry: Entry, samples: tuple[Feeds, ...]) -> tuple[Feeds, ...]:
    """The float original's outputs on each sample (keyed by the serving output name), run by TensorFlow."""
    out = []
    for sample in samples:
        got = reference.run({p.origin: sample[p.name] for p in entry.inputs})
        out.append({p.name: np.asarray(got[p.origin]) for p in entry.outputs})
    return tuple(out)


def quantize_output(final: Diagnosis, reference: Reference | None, options: Options, *,
                    one_shot: bool = False) -> QuantOutcome:
    """Quantize the verified float model of ``final`` and judge it; ``one_shot``: every layer quantized, no search."""
    from repair.quantize.search import run as search

    request = options.quantize
    assert request is not None
    started = time.perf_counter()
    model, conversion = final.model, final.conversion
    entry = model.entry
    assert entry is not None and conversion is not None and conversion.tflite is not None
    if one_shot and request.float_layers is None:
        request = replace(request, float_layers=())
    keys = {p.origin: p.name for p in entry.outputs}  # a term may name an output by its original key
    request = replace(request, budget=tuple(replace(t, output=keys.get(t.output, t.output)) if t.output else t
                                            for t in request.budget))
    ref = reference or Reference(model)
    cal = calibration_data(entry, options, request, final.feeds)
    outcome = QuantOutcome(request, None)
    try:
        expected = expected_outputs(ref, entry, cal.held_out)
        result = search(model.path, conversion.tflite, cal, expected, tuple(p.name for p in entry.outputs), request)
    except QuantFailed as exc:
        outcome.findings.append(_failed(request, exc))
        outcome.checks.append(GateCheck(f"quantized {request.mode.value}", False, str(exc)))
        outcome.seconds = time.perf_counter() - started
        return outcome
    outcome.result = result
    if cal.notes:
        outcome.findings.append(worded(FindingKind.CALIBRATION_DTYPE, Severity.INFO, Source.QUANTIZE,
                                       notes="; ".join(cal.notes), evidence="\n".join(cal.notes)))
    outcome.findings += _budget_findings(result, request, len(cal.held_out), one_shot)
    if result.tflite is not None:
        outcome.targets = _targets(result, options, cal)
        outcome.findings += _island_findings(result, request, options)
    outcome.findings = [f if f.no_fix_reason else replace(f, no_fix_reason=WORDING[f.kind].no_fix)
                        for f in outcome.findings]  # none of them is a catalog rewrite's: each says the next step
    outcome.checks = _checks(outcome, options, len(cal.held_out))
    outcome.seconds = time.perf_counter() - started
    return outcome


def _targets(result: QuantResult, options: Options, cal: Calibration) -> list[TargetReport]:
    """Every requested deployment target, re-checked on the quantized model (float feeds: the checks quantize them
    where the model's inputs are integer; micro's float-tolerance parity is not judged here, the budget is)."""
    assert result.tflite is not None
    if not requested(options):
        return []
    feeds = cal.held_out[0] if result.recipe.io == "float" else None
    return run_checks(result.tflite, options, SERVING_DEFAULT, feeds, None, ())


def _failed(request: Quantize, exc: QuantFailed) -> Finding:
    cures = {
        "unsupported-op": "keep those ops float (repair does this for int8; for int16x8 use --quantize int8 or float16)",
        "dynamic-tensor": "pin the unknown dims first (--pin NAME=1,...) so calibration records every tensor's range",
        "calibration-dtype": "save the calibration arrays in the inputs' own dtypes",
    }
    reason = str(exc)
    finding = worded(FindingKind.QUANT_FAILED, Severity.ERROR, Source.QUANTIZE, mode=request.mode.value, reason=reason,
                     detail=reason, evidence=exc.text or reason, data={"kind": exc.kind})
    return replace(finding, no_fix_reason=cures.get(exc.kind, WORDING[FindingKind.QUANT_FAILED].no_fix))


def _misses(result: QuantResult) -> str:
    bad = [s for s in result.scores if not s.ok]
    return "; ".join(f"{s.output} {s.metric.value} {s.achieved:.4g} (budget {s.limit:g})" for s in bad) or "none"


def _budget_findings(result: QuantResult, request: Quantize, count: int, one_shot: bool) -> list[Finding]:
    """Over budget: in diagnose, with every layer quantized (fix searches); in fix, only when the search refused."""
    first = result.steps[0] if result.steps else None
    if (one_shot and first is not None and not first.ok) or result.refusal:
        worst = ", ".join(f"{e.tensor} ({e.op}, noise/signal {e.nsr:.3g})" for e in result.ranking[:_LISTED])
        misses = _misses(result) if result.refusal or not first else "; ".join(
            f"{s.output} {s.metric.value} {s.achieved:.4g} (budget {s.limit:g})" for s in first.scores if not s.ok)
        finding = worded(FindingKind.QUANT_OVER_BUDGET, Severity.ERROR, Source.QUANTIZE, mode=request.mode.value,
                         misses=misses, count=count,
                         worst=worst or "not ranked (run repair fix to rank the layers and search)",
                         evidence=result.refusal or misses,
                         data={"scores": [_score_json(s) for s in (first.scores if first and not result.refusal
                                                                   else result.scores)]})
        if one_shot and not result.refusal and request.mode is QuantMode.INT8:
            finding = replace(finding, no_fix_reason="repair fix --quantize int8 keeps the most sensitive layers float "
                              "until the budget holds, with as few float layers as its search finds (each step in the "
                              "report); it refuses when even all of them float miss the budget")
        return [finding]
    return []


def _island_findings(result: QuantResult, request: Quantize, options: Options) -> list[Finding]:
    """Ops the quantizer left float because they have no quantized kernel. On a microcontroller (``--target micro``)
    with an integer mode that island is blocking unless the user accepted it (``--accept-fallback micro``)."""
    if not result.no_kernel:
        return []
    integer = request.mode in (QuantMode.INT8, QuantMode.INT16X8)
    blocking = integer and options.wants(Target.MICRO) and Target.MICRO not in options.accept_fallback
    ops = tuple(dict.fromkeys(op.split(" ", 1)[0] for op in result.no_kernel))
    named = "; ".join(result.no_kernel[:_LISTED]) + (f"; and {len(result.no_kernel) - _LISTED} more"
                                                    if len(result.no_kernel) > _LISTED else "")
    return [worded(FindingKind.QUANT_FLOAT_OPS, Severity.ERROR if blocking else Severity.WARNING, Source.QUANTIZE,
                   ops=ops, count=len(result.no_kernel), mode=request.mode.value, nodes=named,
                   evidence="\n".join(result.no_kernel), subject=", ".join(ops),
                   data={"ops": list(result.no_kernel), "accepted_fallback": Target.MICRO in options.accept_fallback})]


def _checks(outcome: QuantOutcome, options: Options, held_out: int) -> list[GateCheck]:
    """The quantized model's gate: builtins only, runs in LiteRT, every budget term, every target, no float island
    where one is not allowed."""
    result, mode = outcome.result, outcome.request.mode.value
    assert result is not None
    if result.tflite is None:
        return [GateCheck(f"quantized {mode} within budget", False, result.refusal or "no quantized model")]
    info = inspect_tflite(result.tflite)
    outside = info.flex_ops + info.custom_ops
    checks = [GateCheck(f"quantized {mode}: builtins-only", not outside, ", ".join(outside) or "ok"),
              GateCheck(f"quantized {mode}: runs in LiteRT", bool(result.scores),
                        f"on {held_out} held-out sample(s)" if result.scores else "not measured")]
    if outcome.request.mode in (QuantMode.INT8, QuantMode.INT16X8):  # never publish a float model under an int name
        computing = [op for op, n in info.ops.items() for _ in range(n) if op not in ("QUANTIZE", "DEQUANTIZE")]
        integer = len(computing) - len(result.float_ops)
        checks.append(GateCheck(f"quantized {mode}: computes in integers", integer > 0,
                                f"{integer} of {len(computing)} op(s) in integers" if integer > 0 else
                                "every op computes in float"))
    for s in result.scores:
        sign = ">=" if s.metric.higher_is_better else "<="
        checks.append(GateCheck(f"budget {s.output} {s.metric.value}", s.ok,
                                f"{s.achieved:.4g} {sign if s.ok else 'misses'} {s.limit:g} on {held_out} held-out sample(s)"))
    for report in outcome.targets:
        detail = report.summary + (" (fallback accepted with --accept-fallback)" if report.accepted else "")
        checks.append(GateCheck(f"quantized target {report.name}", report.ok or report.accepted, detail))
    islands = [f for f in outcome.findings if f.kind is FindingKind.QUANT_FLOAT_OPS and f.severity is Severity.ERROR]
    if islands:
        checks.append(GateCheck("no float island on micro", False, islands[0].title))
    if result.refusal:
        checks.append(GateCheck(f"quantized {mode} within budget", False, result.refusal))
    return checks


def preview(outcome: QuantOutcome) -> str:
    """What the interactive prompt shows before the quantized model is accepted: the search and the proof."""
    result = outcome.result
    if result is None:
        return "no quantized model"
    lines = [f"calibration: {result.calibration.source}"]
    for n, step in enumerate(result.steps):
        scores = ", ".join(f"{s.output} {s.metric.value} {s.achieved:.4g}" + ("" if s.ok else f" (misses {s.limit:g})")
                           for s in step.scores)
        lines.append(f"  step {n}: {step.why}: {scores} ({step.seconds:.2f}s)")
    for e in result.kept:
        lines.append(f"  kept float: {e.tensor} ({e.op}, noise/signal {e.nsr:.3g})")
    for op in result.no_kernel:
        lines.append(f"  float (no quantized kernel): {op}")
    lines.append(f"  size {result.float_bytes} -> {result.quant_bytes} bytes; latency "
                 f"{result.float_latency * 1e3:.3g} -> {result.quant_latency * 1e3:.3g} ms")
    return "\n".join(lines)


def _score_json(s: object) -> dict[str, object]:
    from repair.quantize import OutputScore

    assert isinstance(s, OutputScore)
    return {"output": s.output, "metric": s.metric.value, "limit": s.limit, "achieved": s.achieved, "ok": s.ok}


def to_json(outcome: QuantOutcome) -> dict[str, object]:
    """report.json's ``quantization``: everything the report shows, machine-readable."""
    request, result = outcome.request, outcome.result
    body: dict[str, object] = {"mode": request.mode.value, "io": request.io,
                               "budget_requested": [t.text for t in request.terms], "seconds": round(outcome.seconds, 3)}
    if result is None:
        body["error"] = next((f.title for f in outcome.findings if f.kind is FindingKind.QUANT_FAILED), "")
        return body
    cal = result.calibration
    body.update({
        "calibration": {"source": cal.source, "generated": cal.generated, "count": len(cal.calibration),
                        "held_out": len(cal.held_out), "notes": list(cal.notes)},
        "budget": [_score_json(s) for s in result.scores],
        "float_layers": [{"tensor": e.tensor, "op": e.op, "nsr": e.nsr, "rmse": e.rmse, "max_abs": e.max_abs}
                         for e in result.kept],
        "no_kernel": list(result.no_kernel),
        "float_ops": list(result.float_ops),
        "size": {"float": result.float_bytes, "quantized": result.quant_bytes},
        "latency": {"float": result.float_latency, "quantized": result.quant_latency},
        "steps": [{"float_layers": list(s.float_layers), "ok": s.ok, "why": s.why, "seconds": round(s.seconds, 4),
                   "scores": [_score_json(x) for x in s.scores]} for s in result.steps],
        "ranking": [{"tensor": e.tensor, "op": e.op, "nsr": e.nsr} for e in result.ranking],
        "recipe": result.recipe.to_json(),
        "refusal": result.refusal,
        "phases": {k: round(v, 3) for k, v in result.seconds.items()},
        "targets": [r.to_json() for r in outcome.targets],
    })
    return body


__all__ = ["QuantOutcome", "calibration_data", "check_request", "expected_outputs", "preview", "quantize_output",
           "to_json"]
