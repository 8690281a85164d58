"""report.md for people, report.json for machines: the same facts, built from one RunResult."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from repair.core.findings import Finding
from repair.core.text import markdown, markdown_code, markdown_fence
from repair.fix.diagnose import Diagnosis
from repair.fix.quantize import to_json as quant_json
from repair.fix.result import SCHEMA_VERSION, FixOutcome, FixRecord, RunResult
from repair.model.parity import describe_inputs
from repair.model.tflite import interpreter_name


def op_delta(before: Counter[str] | None, after: Counter[str] | None) -> dict[str, int]:
    """Per-op count change, e.g. {'WHILE': -1, 'FULLY_CONNECTED': 3}."""
    if before is None or after is None:
        return {}
    return {op: after[op] - before[op] for op in sorted(set(before) | set(after)) if after[op] != before[op]}


def _diag_json(diag: Diagnosis | None, model: Path | None) -> dict[str, Any] | None:
    """One diagnosis; ``model`` is where that model is for the reader (the input, the published --out, or None when
    nothing was published: the repaired copy lived in scratch and is gone)."""
    if diag is None:
        return None
    out: dict[str, Any] = {
        "model": str(model) if model is not None else None,
        "static_only": diag.static_only,
        "findings": [f.to_json() for f in diag.findings],
        "timings_s": {k: round(v, 3) for k, v in diag.timings.items()},
    }
    if diag.static_only:
        out["not_converted"] = NOT_CONVERTED
    if diag.conversion is not None:
        out["conversion"] = {"ok": diag.conversion.ok, "seconds": round(diag.conversion.seconds, 3),
                             "error_codes": [list(c) for c in diag.conversion.error_codes]}
    if diag.tflite is not None:
        out["tflite"] = {
            "bytes": diag.tflite.size,
            "ops": dict(sorted(diag.tflite.ops.items())),
            "subgraphs": diag.tflite.subgraphs,
            "signatures": {k: {"inputs": {n: list(t.shape_signature) for n, t in ins.items()},
                               "outputs": {n: list(t.shape_signature) for n, t in outs.items()}}
                           for k, (ins, outs) in diag.tflite.signatures.items()},
        }
    if diag.parity is not None:
        out["parity"] = _parity_json(diag.parity)
    if diag.invoke_ms is not None:
        out["invoke_ms"] = round(diag.invoke_ms, 4)
    if diag.targets:
        out["targets"] = [r.to_json() for r in diag.targets]
    return out


def _parity_json(parity: Any) -> dict[str, Any]:
    return {
        "ok": parity.ok,
        "atol": parity.tolerance.atol,
        "rtol": parity.tolerance.rtol,
        "input_shapes": {k: list(v) for k, v in parity.input_shapes.items()},
        "outputs": [{"name": o.name, "origin": o.origin, "shape": list(o.shape), "max_abs_diff": o.max_abs_diff,
                     "max_rel_diff": o.max_rel_diff, "ok": o.ok, "abs_diff_quantiles": o.abs_diff_quantiles}
                    for o in parity.outputs],
    }


def _seconds(value: float) -> float:
    """Seconds to three significant digits: a fast fix measured at 0.0004 s is not shown as 0.0."""
    return float(f"{value:.3g}")


def _fix_json(r: FixRecord) -> dict[str, Any]:
    return {"rewrite": r.rewrite_id, "finding": r.finding_id, "safety": r.safety.value, "outcome": r.outcome.value,
            "summary": r.summary, "why": r.why, "ran": r.ran,
            "seconds": _seconds(r.seconds + r.export_seconds), "apply_seconds": _seconds(r.seconds),
            "export_seconds": _seconds(r.export_seconds), "exported_with": list(r.exported_with),
            "signature_before": [list(row) for row in r.signature_before],
            "signature_after": [list(row) for row in r.signature_after],
            "tf_op_delta": dict(r.op_delta)}


def _reference_text(result: RunResult) -> str:
    facts = result.reference_facts
    if not facts:
        return result.reference
    return f"{facts['entry']} of {facts['model']}, loaded by {facts['loader']}"


def _scrub(value: Any, paths: list[tuple[str, str]]) -> Any:
    """``value`` with every scratch path replaced (the published one by --out, the others by words): a report never
    names a directory that was deleted when the run ended."""
    if isinstance(value, str):
        for old, new in paths:
            value = value.replace(old, new)
        return value
    if isinstance(value, dict):
        return {k: _scrub(v, paths) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, paths) for v in value]
    return value


def _scratch_paths(result: RunResult) -> list[tuple[str, str]]:
    """(scratch path, what to print instead), longest first: the published directory is --out."""
    paths: list[tuple[str, str]] = []
    final = result.final.model.path if result.final is not None else None
    # Only a final model inside scratch is what was published (nothing to fix: the input itself, copied to --out).
    if result.out is not None and final is not None and any(final.is_relative_to(s) for s in result.scratch):
        paths += [(str(final), str(result.out)), (str(final.resolve()), str(result.out))]
    paths += [(str(s), "(repair's scratch directory, removed)") for s in result.scratch]
    return sorted({p for p in paths if p[0] not in (".", "")}, key=lambda p: -len(p[0]))


def to_json(result: RunResult) -> dict[str, Any]:
    """report.json: the same facts as report.md, every model-controlled string verbatim (it is JSON-escaped)."""
    scrubbed: dict[str, Any] = _scrub(_to_json(result), _scratch_paths(result))
    return scrubbed


def _to_json(result: RunResult) -> dict[str, Any]:
    before = result.original.tflite.ops if result.original.tflite else None
    after = result.final.tflite.ops if result.final and result.final.tflite else None
    feeds = result.final.feeds if result.final is not None else None
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": "repair",
        "input": str(result.input),
        "out": str(result.out) if result.out else None,
        "status": result.status.value,
        "exit_code": int(result.exit_code),
        "message": result.message,
        "target": result.options.target_text,
        "interpreter": interpreter_name(),
        "before": _diag_json(result.original, result.input),
        "after": _diag_json(result.final, result.out),
        "fixes": [_fix_json(r) for r in result.fixes],
        "op_delta": op_delta(before, after),
        "gate": [{"check": c.name, "ok": c.ok, "detail": c.detail} for c in result.gate],
        "reference": _reference_text(result),
        "reference_run": result.reference_facts or None,
        "parity_inputs": describe_inputs(feeds, result.options.sample, result.options.batch) or None,
        "tf_parity": _parity_json(result.tf_parity) if result.tf_parity else None,
        "bytes": {"input": result.input_bytes, "output": result.output_bytes,
                  "tflite_before": result.original.tflite.size if result.original.tflite else None,
                  "tflite_after": result.final.tflite.size if result.final and result.final.tflite else None},
        "timings_s": {k: round(v, 3) for k, v in result.timings.items()},
        "next_steps": [f"{f.id}: {f.no_fix_reason}" for f in (result.final.findings if result.final else []) if not f.fix],
        "source_edits": result.source_edits,
        "source_patch": str(result.source_patch) if result.source_patch else None,
        "quantization": quant_json(result.quant) if result.quant is not None else None,
    }


NOT_CONVERTED = ("not converted: its protos already decided the fixes (static-first), so only the repaired model was "
                 "converted; pass --convert-original to convert and measure the original too")

_STATIC_NOTE = ("The original was read, not converted: its protos already called for these fixes, so only the "
                "repaired model was converted (once) and compared with the original. `--convert-original` converts "
                "the original too (its .tflite, op delta and parity); `repair diagnose` shows everything wrong with it.")


def _findings_md(findings: list[Finding]) -> list[str]:
    if not findings:
        return ["None.", ""]
    lines = ["| id | severity | what | fix |", "|---|---|---|---|"]
    for f in findings:
        fix = markdown_code(f.fix) if f.fix else f"none: {markdown(f.no_fix_reason)}"
        lines.append(f"| {markdown_code(f.id)} | {markdown(f.severity.value)} | {markdown(f.title)} | {fix} |")
    return [*lines, ""]


def _ops_md(ops: Any) -> str:
    """'OP +n' pairs; op names come from the model's graph (a custom op can be named anything)."""
    return ", ".join(f"{markdown(op)} {n:+d}" for op, n in ops)


def _static_evidence_md(findings: list[Finding]) -> list[str]:
    """For an original read, not converted: what each finding means it would do, in words, with its evidence line
    (how many variables, which ones), so a reviewer sees the failure the fix removes without a before-parity."""
    lines = ["What the protos show (nothing was run):", ""]
    for f in findings:
        evidence = (f.evidence.strip().splitlines() or [""])[0]
        evidence = evidence if len(evidence) <= 300 else evidence[:300] + "..."
        lines.append(f"- {markdown_code(f.id, cell=False)}: {markdown(f.explanation)}"
                     + (f" Evidence: {markdown(evidence)}." if evidence else ""))
    return [*lines, ""]


def _fix_seconds_md(r: FixRecord) -> str:
    if not r.ran:
        return "Seconds: none (not run: rejected before it was applied)."
    text = f"Seconds: {_seconds(r.seconds)} applying"
    if r.export_seconds:
        shared = f", one export shared with {', '.join(markdown_code(x, cell=False) for x in r.exported_with)}" \
            if r.exported_with else ""
        text += f", {_seconds(r.export_seconds)} exporting the SavedModel{shared}"
    return text + "."


def _inputs_md(desc: dict[str, Any]) -> list[str]:
    """How much input parity covered: batches, where from, and per input the rule and the values' range."""
    if not desc:
        return []
    where = (f"generated from seed {desc['seed']}" if desc["source"] == "generated"
             else f"from the sample file {markdown_code(desc['sample_file'], cell=False)}")
    lines = [f"Inputs: {desc['batches']} batch of {desc['batch_size'] if desc['batch_size'] is not None else 'mixed'} "
             f"row(s), {where}; unknown dims: {markdown(desc['unknown_dims'])}.", ""]
    for row in desc["inputs"]:
        values = (f"values in [{row['min']:.4g}, {row['max']:.4g}]" if "min" in row
                  else f"{row['distinct']} distinct value(s)" if "distinct" in row else "no values")
        drawn = f" {markdown(row['drawn'])};" if row.get("drawn") else ""
        lines.append(f"- {markdown(row['name'])} {markdown(row['dtype'])} {row['shape']}:{drawn} {values}")
    return [*lines, ""]


def to_markdown(result: RunResult) -> str:
    """report.md. Every string that comes from the model, the file system or a tool's message is escaped here, for
    markdown (repair.core.text); ``result`` and the findings hold the raw text, which report.json keeps verbatim."""
    paths = _scratch_paths(result)
    escaped = [(markdown(old), markdown(new)) for old, new in paths]  # as markdown() printed them in prose and cells
    return str(_scrub(_to_markdown(result), sorted({*paths, *escaped}, key=lambda p: -len(p[0]))))


def _to_markdown(result: RunResult) -> str:
    data = to_json(result)
    lines = [f"# repair report: {markdown(result.input.name)}", "",
             f"- status: **{markdown(result.status.value)}** (exit {int(result.exit_code)}): {markdown(result.message)}",
             f"- input: {markdown_code(result.input, cell=False)}",
             f"- output: {markdown_code(result.out, cell=False)}" if result.out else "- output: none written",
             f"- target: {markdown(result.options.target_text)}; interpreter: {markdown(data['interpreter'])}", "",
             "## Findings before", ""]
    lines += _findings_md(result.original.findings)
    if result.original.static_only:
        lines += [_STATIC_NOTE, ""]
        if result.original.findings:
            lines += _static_evidence_md(result.original.findings)
    lines += ["## Fixes", ""]
    if not result.fixes:
        lines += ["None applied.", ""]
    for r in result.fixes:
        lines += [f"### {markdown_code(r.rewrite_id, cell=False)} ({markdown(r.safety.value)}): {markdown(r.outcome.value)}", "",
                  f"Answers {markdown_code(r.finding_id, cell=False)}. {markdown(r.summary)}", ""]
        if r.why:
            ran = "Why it ran" if r.outcome is not FixOutcome.REJECTED else "Why it did not run"
            lines += [f"{ran}: {markdown(r.why)}.", ""]
        lines += [_fix_seconds_md(r), ""]
        if r.op_delta:
            lines += ["TF graph ops: " + _ops_md(r.op_delta), ""]
        if r.signature_before or r.signature_after:
            lines += ["| | before | after |", "|---|---|---|"]
            width = max(len(r.signature_before), len(r.signature_after))
            for i in range(width):
                b = r.signature_before[i] if i < len(r.signature_before) else None
                a = r.signature_after[i] if i < len(r.signature_after) else None
                side = (a or b)[0]  # type: ignore[index]
                fmt = lambda row: f"{markdown_code(row[1])} {markdown(row[2])} {markdown(row[3])}" if row else "-"  # noqa: E731
                lines.append(f"| {markdown(side)} | {fmt(b)} | {fmt(a)} |")
            lines.append("")
    if result.final is not None:
        lines += ["## Findings after", "", *_findings_md(result.final.findings)]
    if data["op_delta"]:
        lines += ["## .tflite op delta", "", _ops_md(data["op_delta"].items()), ""]
    if result.final is not None and result.final.tflite is not None:
        lines += ["## .tflite", "", f"- ops: {markdown(result.final.tflite.histogram_text())}",
                  f"- bytes: {result.final.tflite.size:,}"]
        for key, (ins, outs) in result.final.tflite.signatures.items():
            shapes = ", ".join(f"{markdown(n)} {list(t.shape_signature)}" for n, t in ins.items())
            out_shapes = ", ".join(f"{markdown(n)} {list(t.shape_signature)}" for n, t in outs.items())
            lines.append(f"- signature {markdown_code(key, cell=False)}: inputs {shapes}; outputs {out_shapes}")
        lines.append("")
    lines += _targets_md(result)
    lines += _quant_md(result)
    if result.gate:
        lines += ["## Verification gate", "", "| check | result | detail |", "|---|---|---|"]
        lines += [f"| {markdown(c.name)} | {'pass' if c.ok else 'FAIL'} | {markdown(c.detail)} |" for c in result.gate] + [""]
    parity = result.final.parity if result.final else None
    if parity is not None:
        lines += ["## Parity per output (.tflite vs original)", "",
                  f"Reference: {markdown(data['reference'])}.", ""]
        if result.reference_facts.get("note"):
            lines += [f"Why this loader: {markdown(result.reference_facts['note'])}.", ""]
        if result.reference_facts.get("inputs"):
            lines += [f"Reference inputs: {markdown(result.reference_facts['inputs'])}.", ""]
        lines += _inputs_md(data["parity_inputs"] or {})
        lines += ["| output | original key | shape | max abs diff | p50 / p99 abs diff | max rel diff | ok |",
                  "|---|---|---|---|---|---|---|"]
        lines += [f"| {markdown(o.name)} | {markdown(o.origin)} | {list(o.shape)} | {o.max_abs_diff:.3g} | "
                  + (f"{o.abs_diff_quantiles['p50']:.3g} / {o.abs_diff_quantiles['p99']:.3g}" if o.abs_diff_quantiles else "-")
                  + f" | {o.max_rel_diff:.3g} | {'yes' if o.ok else 'NO'} |" for o in parity.outputs]
        lines.append("")
    b = data["bytes"]
    lines += ["## Sizes and timings", "", f"- SavedModel bytes: {b['input']:,} in, {b['output']:,} out",
              f"- .tflite bytes: {_size(b['tflite_before'], result.original.static_only)} before, "
              f"{_size(b['tflite_after'])} after",
              f"- interpreter invoke (median of 5, 2 threads, parity inputs): "
              f"{_ms(result.original.invoke_ms, result.original.static_only)} before, "
              f"{_ms(result.final.invoke_ms if result.final else None)} after",
              "- seconds: " + ", ".join(f"{k} {v}" for k, v in data["timings_s"].items()), ""]
    if result.source_edits:
        lines += ["## Source edits (--source)", "", "| where | rewrite | safety | what | decision |", "|---|---|---|---|---|"]
        lines += [f"| {markdown(e['location'])} | {markdown_code(e['rewrite'])} | {markdown(e['safety'])} | "
                  f"{markdown(e['title'])} | {markdown(e['decision'])}{(': ' + markdown(e['why'])) if e.get('why') else ''} |"
                  for e in result.source_edits]
        lines.append("")
        if result.source_patch_text:
            lines += ["Accepted edits, as written to `source.patch` (apply with `git apply source.patch`):", "",
                      *markdown_fence(result.source_patch_text, "diff"), ""]
    if data["next_steps"]:
        lines += ["## Next steps", ""] + [f"- {markdown(s)}" for s in data["next_steps"]] + [""]
    lines += _evidence_md(result.original.findings + (result.final.findings if result.final else []))
    return "\n".join(lines)


def _targets_md(result: RunResult) -> list[str]:
    """Per deployment target: the verdict before and after, what it measured, and every node it refused."""
    after = {r.name: r for r in (result.final.targets if result.final else [])}
    before = {r.name: r for r in result.original.targets}
    if not after and not before:
        return []
    unseen = "not converted (read statically)" if result.original.static_only else "not checked"
    lines = ["## Deployment targets", "", "| target | before | after | detail |", "|---|---|---|---|"]
    for name in dict.fromkeys([*before, *after]):
        b, a = before.get(name), after.get(name)
        shown = a or b
        assert shown is not None
        lines.append(f"| {markdown(name)} | {markdown(b.verdict) if b else unseen} | "
                     f"{markdown(a.verdict) if a else 'not checked'} | {markdown(shown.summary)} |")
    lines.append("")
    for name, r in after.items():
        facts = [f for f in (f"arena {r.arena_bytes:,} bytes" if r.arena_bytes is not None else "",
                             f"delegated {r.delegated} of {r.total} nodes" if r.delegated is not None else "",
                             f"minimum runtime {r.min_runtime} (set by {', '.join(r.setters)})" if r.min_runtime else "",
                             f"check took {r.seconds:.2f} s") if f]
        lines.append(f"- {markdown(name)}: {markdown('; '.join(facts))}")
        lines += [f"  - {markdown(o.describe())}" for o in r.offenders]
    return [*lines, ""]


def _quant_md(result: RunResult) -> list[str]:
    """--quantize: mode and data, budget vs achieved per output, the layers kept float and why, sizes, latency, and
    every step of the search."""
    outcome = result.quant
    if outcome is None:
        return []
    request, q = outcome.request, outcome.result
    lines = ["## Quantization", "", f"- mode: {markdown(request.mode.value)}; inputs/outputs: {markdown(request.io)}"]
    if q is None:
        error = next((f.title for f in outcome.findings), "the quantizer refused")
        return [*lines, f"- no quantized model: {markdown(error)}", ""]
    cal = q.calibration
    lines.append(f"- data: {markdown(cal.source)}; the budget is measured on the {len(cal.held_out)} held-out "
                 "sample(s), which calibration never saw")
    if cal.generated:
        lines.append("- **generated calibration data**: it proves the quantization mechanics work, not the accuracy on "
                     "real inputs; give `--calibration FILE.npz` with real inputs for that")
    lines += [f"- calibration data: {markdown(n)}" for n in cal.notes]
    lines += [f"- size: {q.float_bytes:,} bytes float, {q.quant_bytes:,} bytes quantized "
              f"({q.quant_bytes / max(q.float_bytes, 1):.2f}x)",
              f"- latency (LiteRT interpreter, median of several invokes on one held-out sample): "
              f"{q.float_latency * 1e3:.3f} ms float, {q.quant_latency * 1e3:.3f} ms quantized", ""]
    if q.refusal:
        lines += [f"**Refused:** {markdown(q.refusal)}", ""]
    lines += ["| output | metric | budget | achieved | ok |", "|---|---|---|---|---|"]
    lines += [f"| {markdown(s.output)} | {markdown(s.metric.value)} | {s.limit:g} | {s.achieved:.5g} | "
              f"{'yes' if s.ok else 'NO'} |" for s in q.scores]
    lines.append("")
    if q.kept:
        kept = ("Layers float in the last step tried" if q.refusal else "Layers kept float")
        lines += [f"{kept} (their own quantization error, measured layer by layer):", "",
                  "| tensor | op | noise/signal | rmse | max abs |", "|---|---|---|---|---|"]
        lines += [f"| {markdown(e.tensor)} | {markdown(e.op)} | {e.nsr:.3g} | {e.rmse:.3g} | {e.max_abs:.3g} |"
                  for e in q.kept]
        lines.append("")
    if q.no_kernel:
        lines += ["Ops left float because they have no quantized kernel: "
                  + ", ".join(markdown(op) for op in q.no_kernel), ""]
    if q.steps:
        lines += ["Search steps:", "", "| step | float layers | why | scores | ok | seconds |", "|---|---|---|---|---|---|"]
        for n, step in enumerate(q.steps):
            scores = ", ".join(f"{markdown(s.output)} {markdown(s.metric.value)} {s.achieved:.4g}" for s in step.scores)
            lines.append(f"| {n} | {len(step.float_layers)} | {markdown(step.why)} | {scores} | "
                         f"{'yes' if step.ok else 'no'} | {step.seconds:.2f} |")
        lines.append("")
    if q.seconds:
        lines += ["Seconds by phase: " + ", ".join(f"{markdown(k)} {v:.2f}" for k, v in q.seconds.items()), ""]
    if outcome.targets:
        lines += ["Deployment targets on the quantized model:", ""]
        lines += [f"- {markdown(r.name)}: {markdown(r.verdict)}: {markdown(r.summary)}" for r in outcome.targets]
        lines.append("")
    return lines


_EVIDENCE_CHARS = 4000


def _evidence_md(findings: list[Finding]) -> list[str]:
    """Raw evidence (converter text, error lines), once per finding id and text: verbatim in a fence that nothing
    inside can close, control characters shown as '?' (report.json has the exact text)."""
    seen: set[tuple[str, str]] = set()
    lines: list[str] = []
    for f in findings:
        if not f.evidence or (f.id, f.evidence) in seen:
            continue
        seen.add((f.id, f.evidence))
        text = f.evidence
        if len(text) > _EVIDENCE_CHARS:
            text = text[:_EVIDENCE_CHARS] + "\n... (truncated; the full text is in report.json)"
        lines += [f"### {markdown_code(f.id, cell=False)}", "", *markdown_fence(text), ""]
    return (["## Evidence", "", *lines]) if lines else []


def _ms(value: float | None, static: bool = False) -> str:
    return f"{value:.3f} ms" if value is not None else ("n/a (not run: read statically)" if static else "n/a")


def _size(n: int | None, static: bool = False) -> str:
    if n is not None:
        return f"{n:,}"
    return ("n/a (not converted: the protos decided the fixes; --convert-original converts it)" if static
            else "n/a (did not convert)")


def write_reports(result: RunResult, directory: Path) -> None:
    data = to_json(result)
    (directory / "report.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (directory / "report.md").write_text(to_markdown(result), encoding="utf-8")  # not the locale's: keys are Unicode
    _write_html(result, data, directory)


# write_reports runs twice per run (the output, then --report): the graph change is read once, for the last result.
_change_cache: tuple[RunResult, Any, str] | None = None


def _graph_change(result: RunResult) -> tuple[Any, str]:
    """The run's GraphChange (None and why when there is none). Never raises: the reports matter more than the picture."""
    global _change_cache
    if _change_cache is not None and _change_cache[0] is result:
        return _change_cache[1], _change_cache[2]
    change, error = None, ""
    # Called before the publish: the repaired model is still where the last fix exported it (scratch).
    after = result.final.model.path if result.final is not None else None
    if after is None or not Path(after).exists():
        error = "there is no repaired model to compare (the run stopped before one was exported)"
    else:
        try:
            from repair.model.change import graph_change

            change = graph_change(result.input, Path(after))
        except Exception as exc:  # noqa: BLE001 - any failure to read a graph must not cost the reports
            error = f"reading the graph change failed: {type(exc).__name__}: {exc}"[:500]
    _change_cache = (result, change, error)
    return change, error


def _write_html(result: RunResult, data: dict[str, Any], directory: Path) -> None:
    """report.html (repair.fix.html) and model_explorer.json (Model Explorer's node data for the change)."""
    from repair.fix.html import render

    change, error = _graph_change(result)
    if change is not None:
        try:
            from repair.model.model_explorer import node_data

            (directory / "model_explorer.json").write_text(json.dumps(node_data(change), indent=2) + "\n",
                                                           encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - the overlay is extra: its failure is noted, never fatal
            error = f"model_explorer.json was not written: {type(exc).__name__}: {exc}"[:500]
    (directory / "report.html").write_text(render(data, change, error), encoding="utf-8")
