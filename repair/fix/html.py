"""report.html: one self-contained page with the facts of report.json and pictures of them.

The page needs no network: its CSS, its script and the vendored layout library (dagre 3.1.3, assets/dagre.min.js,
MIT) are inlined, so it works offline and attached to a ticket. Everything but the graph picture is plain HTML and
inline SVG built here (tables, the op histogram, the parity plot), so the page reads without JavaScript; the graph
picture is laid out in the page by dagre, because a layout library does edge routing and ranking far better than
hand-placed boxes and costs no Python dependency (Graphviz would need a system binary).

Every string that comes from the model, the user or a tool's message (op, node and tensor names, keys, messages,
paths) is escaped here, where it reaches the page: ``repair.core.text.html`` for HTML text and attributes; the graph
data the script reads is JSON inside ``<script type="application/json">`` with every ``<`` written ``\\u003c``, so no
``</script>`` or ``<!--`` inside a name can end or change the block, and the script only ever sets ``textContent``.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from functools import cache
from importlib import resources
from typing import Any

from repair.core.text import html as esc
from repair.model.change import GraphChange

# Node fill by state; the legend, the SVG and the CSS all read this one table.
_STATE_COLOURS = {"same": "#eef0f3", "added": "#c9f2c7", "removed": "#f8c9c4", "changed": "#fde7a6"}
_STATE_WORDS = {"same": "unchanged (context)", "added": "added", "removed": "removed", "changed": "changed"}


@cache
def _dagre() -> str:
    """The vendored dagre bundle, as text to inline (it holds no ``</script``: checked when it is read)."""
    source = resources.files("repair.fix").joinpath("assets/dagre.min.js").read_text(encoding="utf-8")
    if "</script" in source.lower() or "<!--" in source:
        raise ValueError("assets/dagre.min.js cannot be inlined: it holds '</script' or '<!--'")
    return source


def script_json(value: object) -> str:
    """JSON for a ``<script type="application/json">`` block: ``<``, ``>`` and ``&`` written as JSON escapes, so no
    string inside can close the block (``</script>``) or open a comment (``<!--``); JSON.parse gives them back."""
    return (json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e6):
        return f"{value:.{digits}g}"
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".") if "." in f"{value:.{digits}f}" else f"{value:,}"


def _ok(flag: Any) -> str:
    if flag is None:
        return '<span class="muted">n/a</span>'
    return '<span class="ok">pass</span>' if flag else '<span class="bad">FAIL</span>'


def _table(head: list[str], rows: list[list[str]], cls: str = "") -> str:
    """A table of already-escaped cells."""
    if not rows:
        return '<p class="muted">None.</p>'
    out = [f'<table class="{cls}"><thead><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
    out += ["<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows]
    return "\n".join(out) + "</tbody></table>"


def _code(value: Any) -> str:
    return f"<code>{esc(value)}</code>"


# ---------------------------------------------------------------------------------------------------------- sections


def _verdict(report: dict[str, Any]) -> str:
    status = str(report.get("status", "unknown"))
    cls = "ok" if status in ("repaired", "clean", "nothing-to-fix", "ok") and report.get("exit_code") == 0 else "bad"
    out = report.get("out")
    rows = [
        ["input", _code(report.get("input", ""))],
        ["output", _code(out) if out else '<span class="muted">none written</span>'],
        ["target", esc(report.get("target", ""))],
        ["interpreter", esc(report.get("interpreter", ""))],
    ]
    if report.get("reference"):
        rows.append(["reference", esc(report["reference"])])
    if report.get("schema_version") is not None:
        rows.append(["schema_version", esc(report["schema_version"])])
    return (f'<section id="verdict" class="verdict v-{cls}"><h2>Verdict: <span class="status">{esc(status)}</span> '
            f'<span class="exit">(exit {esc(report.get("exit_code", "?"))})</span></h2>'
            f'<p class="message">{esc(report.get("message", ""))}</p>'
            + _table(["", ""], rows, "facts") + "</section>")


def _findings(side: dict[str, Any] | None, title: str, anchor: str) -> str:
    body = f'<section id="{anchor}"><h2>{title}</h2>'
    if side is None:
        return body + '<p class="muted">No diagnosis of this side (the run stopped before it).</p></section>'
    rows = []
    for f in side.get("findings", []):
        fix = _code(f["fix"]) if f.get("fix") else "none: " + esc(f.get("no_fix_reason", ""))
        rows.append([_code(f.get("id", "")), esc(f.get("severity", "")), esc(f.get("title", "")), fix])
    body += _table(["id", "severity", "what", "fix"], rows, "findings")
    if side.get("static_only"):
        body += ('<p class="note">The original was read, not converted: its protos already called for these fixes, so '
                 "only the repaired model was converted and compared with the original (<code>--convert-original</code> "
                 "converts the original too).</p>")
    return body + "</section>"


def _signature_table(before: list[list[Any]], after: list[list[Any]]) -> str:
    width = max(len(before), len(after))
    rows = []
    for i in range(width):
        b = before[i] if i < len(before) else None
        a = after[i] if i < len(after) else None
        rows.append([" ".join(esc(x) for x in b) if b else "", " ".join(esc(x) for x in a) if a else ""])
    return _table(["before (kind key dtype shape)", "after"], rows, "signature")


def _fixes(report: dict[str, Any]) -> str:
    fixes = report.get("fixes") or []
    body = '<section id="fixes"><h2>Fixes</h2>'
    if not fixes:
        return body + '<p class="muted">None applied.</p></section>'
    for fx in fixes:
        delta = fx.get("tf_op_delta") or {}
        ops = ", ".join(f"{esc(op)} {n:+d}" for op, n in delta.items()) if delta else ""
        body += (f'<div class="fix"><h3>{_code(fx.get("rewrite", ""))} <span class="tag">{esc(fx.get("safety", ""))}'
                 f'</span> <span class="tag outcome-{esc(fx.get("outcome", ""))}">{esc(fx.get("outcome", ""))}</span> '
                 f'<span class="muted">{_num(fx.get("seconds"))} s</span></h3>'
                 + (f'<p>Answers {_code(fx["finding"])}. ' if fx.get("finding") else "<p>")
                 + f'{esc(fx.get("summary", ""))}</p>'
                 f'<p><b>Why it ran:</b> {esc(fx.get("why") or "not recorded")}</p>'
                 + (f"<p><b>TF graph ops:</b> {ops}</p>" if ops else "")
                 + _signature_table(fx.get("signature_before") or [], fx.get("signature_after") or []) + "</div>")
    return body + "</section>"


def _blocking_ops(report: dict[str, Any]) -> list[str]:
    """The ops the remaining error findings name (a refused model's blockers), to mark in the picture."""
    after = report.get("after") or report.get("before") or {}
    return sorted({str(op) for f in after.get("findings") or [] if f.get("severity") == "error"
                   for op in (f.get("data") or {}).get("ops") or []})


def _graph(change: GraphChange | None, error: str, report: dict[str, Any]) -> str:
    """The picture's frame: the data for the script, the summary and legend (visible without JS), a table of the
    marked nodes (the picture's facts without JS). When no fix was applied there is no change to show: the original's
    serving graph is drawn alone, with the ops the remaining findings name marked as blocking."""
    applied = any(f.get("outcome") == "applied" for f in report.get("fixes") or [])
    blocking = _blocking_ops(report)
    if change is not None and not applied:
        kept = change.before or change.after
        what = ("the ops marked blocking are the ones the findings name" if blocking
                else "the findings above say what is wrong")
        change = replace(change, before=kept, after=None, summary=(
            f"No fix was applied, so nothing changed: this is the original's serving graph around its inputs and "
            f"outputs; {what}."), notes=())
        body = '<section id="graph-change"><h2>The serving graph (no fix applied)</h2>'
    else:
        body = '<section id="graph-change"><h2>The graph change</h2>'
    if change is None:
        why = error or "no graph change was computed for this run"
        return body + f'<p class="note" id="graph-missing">No picture: {esc(why)}</p></section>'
    legend = "".join(f'<span class="legend-item"><span class="swatch" style="background:{colour}"></span>'
                     f"{esc(_STATE_WORDS[state])}</span>" for state, colour in _STATE_COLOURS.items())
    if blocking:
        legend += ('<span class="legend-item"><span class="swatch blocking"></span>blocking (named by a finding: '
                   f"{esc(', '.join(blocking))})</span>")
    body += (f'<p class="summary" id="graph-summary">{esc(change.summary)}</p>'
             f'<p class="legend" id="graph-legend">{legend}</p>')
    for note in (*change.notes, *([error] if error else [])):
        body += f'<p class="note">{esc(note)}</p>'
    panels = []
    for key, side in (("before", change.before), ("after", change.after)):
        if side is None and not applied:
            continue  # nothing changed: the original alone
        if side is None:
            words = ("before", "original") if key == "before" else ("after", "repaired")
            why = next((n for n in change.notes if n.lower().startswith(words)), "") or (
                "the original has no readable serving graph" if key == "before" else "there is no repaired graph")
            panels.append(f'<div class="panel" data-side="{key}"><h3>{key}</h3>'
                          f'<p class="empty-side">No graph on this side: {esc(why)}</p></div>')
            continue
        near = "a change" if applied else "its inputs and outputs"
        elided = (f"{side.elided:,} of {side.total_nodes:,} nodes elided (outside {change.hops} hops of {near})"
                  if side.elided else f"all {side.total_nodes:,} nodes shown")
        empty = "" if side.nodes else f'<p class="empty-side">No node of this side is near a change: {esc(elided)}</p>'
        panels.append(f'<div class="panel" data-side="{key}"><h3>{esc(side.label)}</h3>'
                      f'<p class="elided">{esc(elided)}</p>{empty}'
                      f'<div class="canvas" id="graph-{key}"><noscript>The picture needs JavaScript; '
                      "the table below lists the changed nodes.</noscript></div></div>")
    sides = "graph-sides single" if len(panels) == 1 else "graph-sides"
    body += f'<div class="{sides}" id="graph-picture" data-rendered="0">' + "".join(panels) + "</div>"
    rows = []
    for key, side in (("before", change.before), ("after", change.after)):
        for n in side.nodes if side else ():
            if n.state.value != "same":
                rows.append([key, _code(n.id), esc(n.op), esc(n.state.value), esc(n.note)])
    body += ("<details><summary>Changed nodes as a table</summary>"
             + _table(["side", "node", "op", "state", "note"], rows, "nodes") + "</details>")
    data = change.to_json() | {"blocking": blocking}
    body += f'<script type="application/json" id="graph-data">{script_json(data)}</script>'
    return body + "</section>"


def _histogram(before: dict[str, int] | None, after: dict[str, int] | None) -> str:
    """The .tflite op counts before/after as horizontal grouped bars (inline SVG, no script)."""
    ops = sorted(set(before or {}) | set(after or {}), key=lambda op: (-max((before or {}).get(op, 0),
                                                                             (after or {}).get(op, 0)), op))
    if not ops:
        return '<p class="muted">Neither side has a .tflite (no conversion succeeded).</p>'
    top = max(max((before or {}).values(), default=0), max((after or {}).values(), default=0), 1)
    label_w, bar_w, row_h = 230, 360, 26
    height = row_h * len(ops) + 30
    parts = [f'<svg class="chart" id="op-histogram" role="img" width="{label_w + bar_w + 60}" height="{height}" '
             f'viewBox="0 0 {label_w + bar_w + 60} {height}" xmlns="http://www.w3.org/2000/svg">'
             "<title>.tflite ops before and after</title>"]
    for i, op in enumerate(ops):
        y = 10 + i * row_h
        name = op if len(op) <= 32 else op[:31] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" class="lbl">{esc(name)}<title>{esc(op)}'
                     "</title></text>")
        for j, (side, counts, colour) in enumerate((("before", before, "#7f9cc4"), ("after", after, "#e0914a"))):
            if counts is None:
                continue
            n = counts.get(op, 0)
            w = bar_w * n / top
            parts.append(f'<rect x="{label_w}" y="{y + j * 11}" width="{w:.1f}" height="10" fill="{colour}">'
                         f"<title>{side}: {esc(op)} x{n}</title></rect>"
                         f'<text x="{label_w + w + 4:.1f}" y="{y + j * 11 + 9}" class="num">{n}</text>')
    parts.append("</svg>")
    legend = ('<p class="legend"><span class="legend-item"><span class="swatch" style="background:#7f9cc4"></span>'
              f'before{"" if before is not None else " (no .tflite)"}</span><span class="legend-item">'
              '<span class="swatch" style="background:#e0914a"></span>'
              f'after{"" if after is not None else " (no .tflite)"}</span></p>')
    return legend + "".join(parts)


def _ops(report: dict[str, Any]) -> str:
    before = ((report.get("before") or {}).get("tflite") or {}).get("ops")
    after = ((report.get("after") or {}).get("tflite") or {}).get("ops")
    body = '<section id="ops"><h2>.tflite ops</h2>' + _histogram(before, after)
    rows = [[esc(op), _num((before or {}).get(op)) if before is not None else "n/a",
             _num((after or {}).get(op)) if after is not None else "n/a"]
            for op in sorted(set(before or {}) | set(after or {}))]
    return body + "<details><summary>as a table</summary>" + _table(["op", "before", "after"], rows, "ops") + \
        "</details></section>"


def _quantile_of(key: Any) -> float:
    """A quantile's key as a fraction: "p50" (repair.model.parity's keys) -> 0.5, "max" -> 1.0, "0.9" -> 0.9."""
    text = str(key).strip().lower()
    if text == "max":
        return 1.0
    if text.startswith("p"):
        return float(text[1:]) / 100.0
    return float(text)


def _quantiles(output: dict[str, Any]) -> list[tuple[float, float]]:
    """The optional ``abs_diff_quantiles`` of one output ({"p50": v, ..., "max": v}), as sorted (fraction, value)."""
    raw = output.get("abs_diff_quantiles")
    pairs: list[tuple[float, float]] = []
    try:
        items = raw.items() if isinstance(raw, dict) else raw or []
        for q, v in items:
            pairs.append((_quantile_of(q), float(v)))
    except (TypeError, ValueError):
        return []
    return sorted(pairs)


def _parity_plot(parity: dict[str, Any], plot_id: str) -> str:
    """|diff| per output on a log axis against the atol line (and the quantiles of |diff| when the report has them).

    The tolerance is per element, atol + rtol * |original|: the atol line is its floor, so a max |diff| right of it
    can still pass where the original's values are large (its row says pass or FAIL, from parity itself)."""
    outputs = parity.get("outputs") or []
    atol = float(parity.get("atol") or 0.0)
    rtol = parity.get("rtol")
    values = [float(o["max_abs_diff"]) for o in outputs if isinstance(o.get("max_abs_diff"), (int, float))]
    values += [v for o in outputs for _, v in _quantiles(o)]
    positive = [v for v in [*values, atol] if v > 0 and math.isfinite(v)]
    if not outputs:
        return '<p class="muted">No outputs compared.</p>'
    lo = math.floor(math.log10(min(positive))) - 1 if positive else -9
    hi = math.ceil(math.log10(max(positive))) + 1 if positive else 0
    hi = max(hi, lo + 2)
    label_w, plot_w, row_h = 200, 420, 28
    height = row_h * len(outputs) + 44

    def x(v: float) -> float:
        v = max(v, 10.0 ** lo)
        return label_w + plot_w * (math.log10(v) - lo) / (hi - lo)

    parts = [f'<svg class="chart parity" id="{plot_id}" role="img" width="{label_w + plot_w + 20}" height="{height}" '
             f'viewBox="0 0 {label_w + plot_w + 20} {height}" xmlns="http://www.w3.org/2000/svg">'
             "<title>|diff| per output against the tolerance</title>"]
    for e in range(lo, hi + 1):
        parts.append(f'<line x1="{x(10.0 ** e):.1f}" x2="{x(10.0 ** e):.1f}" y1="8" y2="{height - 26}" class="grid"/>'
                     f'<text x="{x(10.0 ** e):.1f}" y="{height - 10}" text-anchor="middle" class="num">1e{e}</text>')
    if atol > 0:
        parts.append(f'<line x1="{x(atol):.1f}" x2="{x(atol):.1f}" y1="4" y2="{height - 26}" class="tol">'
                     f"<title>atol {atol:g}</title></line>")
    for i, o in enumerate(outputs):
        y = 14 + i * row_h
        name = str(o.get("name", ""))
        short = name if len(name) <= 26 else name[:25] + "…"
        parts.append(f'<text x="{label_w - 6}" y="{y + 5}" text-anchor="end" class="lbl">{esc(short)}'
                     f"<title>{esc(name)}</title></text>")
        quantiles = _quantiles(o)
        if quantiles:
            parts.append(f'<line x1="{x(quantiles[0][1]):.1f}" x2="{x(quantiles[-1][1]):.1f}" y1="{y}" y2="{y}" '
                         'class="range"/>')
            for q, v in quantiles:
                label = "max" if q == 1.0 else f"p{q * 100:g}"
                parts.append(f'<circle cx="{x(v):.1f}" cy="{y}" r="3" class="quantile"><title>{label} |diff|: {v:.3g}'
                             "</title></circle>")
        diff = o.get("max_abs_diff")
        if isinstance(diff, (int, float)):
            cls = "pass" if o.get("ok") else "fail"
            parts.append(f'<path d="M{x(float(diff)):.1f},{y - 7} l6,7 l-6,7 l-6,-7 z" class="max {cls}">'
                         f"<title>max |diff| {float(diff):.3g}</title></path>")
    parts.append("</svg>")
    return (f'<p class="legend"><span class="legend-item"><span class="swatch diamond"></span>max |diff|</span>'
            f'<span class="legend-item"><span class="swatch tolswatch"></span>atol {atol:g} '
            f"(the floor of atol + rtol·|original|, rtol {esc(rtol)})</span>"
            + ('<span class="legend-item"><span class="swatch dot"></span>quantiles of |diff|</span>'
               if any(_quantiles(o) for o in outputs) else "") + "</p>" + "".join(parts))


def _parity(report: dict[str, Any]) -> str:
    body = '<section id="parity"><h2>Parity per output</h2>'
    blocks = [("the repaired .tflite (LiteRT) against the original", (report.get("after") or {}).get("parity")),
              ("the repaired SavedModel (TensorFlow) against the original", report.get("tf_parity")),
              ("the original's .tflite against the original", (report.get("before") or {}).get("parity"))]
    shown = 0
    for i, (title, parity) in enumerate(blocks):
        if not parity:
            continue
        shown += 1
        rows = [[esc(o.get("name", "")), esc(" x ".join(str(d) for d in o.get("shape", []))), _num(o.get("max_abs_diff")),
                 _num(o.get("max_rel_diff")), _ok(o.get("ok"))] for o in parity.get("outputs") or []]
        shapes = ", ".join(f"{esc(k)} {esc(v)}" for k, v in (parity.get("input_shapes") or {}).items())
        body += (f"<h3>{esc(title)}: {_ok(parity.get('ok'))}</h3>"
                 + (f'<p class="muted">inputs: {shapes}</p>' if shapes else "")
                 + _parity_plot(parity, f"parity-plot-{i}")
                 + _table(["output", "shape", "max |diff|", "max rel diff", "within tolerance"], rows, "parity"))
    if not shown:
        body += '<p class="muted">No parity was measured (nothing converted and ran).</p>'
    return body + "</section>"


def _sizes_timings(report: dict[str, Any]) -> str:
    sizes = report.get("bytes") or {}
    before = report.get("before") or {}
    why = before.get("not_converted") or ("the original was read statically" if before.get("static_only") else "")
    missing = {"tflite_before": esc(f"n/a ({why})") if why else "n/a (did not convert)"}
    rows = [[esc(k.replace("_", " ")), _num(v) if v is not None else missing.get(k, "n/a (did not convert)")]
            for k, v in sizes.items()]
    body = '<section id="sizes"><h2>Sizes (bytes)</h2>' + _table(["what", "bytes"], rows, "sizes") + "</section>"
    timing_rows = [[esc(k), _num(v)] for k, v in (report.get("timings_s") or {}).items()]
    for key in ("before", "after"):
        side = report.get(key) or {}
        timing_rows += [[f"{key}: {esc(k)}", _num(v)] for k, v in (side.get("timings_s") or {}).items()]
        if side.get("invoke_ms") is not None:
            timing_rows.append([f"{key}: interpreter invoke (ms)", _num(side["invoke_ms"], 4)])
    body += '<section id="timings"><h2>Timings (seconds)</h2>' + _table(["step", "seconds"], timing_rows, "timings")
    return body + "</section>"


def _gate(report: dict[str, Any]) -> str:
    rows = [[_ok(c.get("ok")), esc(c.get("check", "")), esc(c.get("detail", ""))] for c in report.get("gate") or []]
    body = '<section id="gate"><h2>The gate</h2>' + _table(["", "check", "detail"], rows, "gate")
    targets = (report.get("after") or report.get("before") or {}).get("targets") or []
    if targets:
        trows = [[esc(t.get("target", t.get("name", ""))), esc(t.get("verdict", t.get("ok", ""))),
                  esc(t.get("summary", t.get("detail", "")))] for t in targets if isinstance(t, dict)]
        body += "<h3>Targets</h3>" + _table(["target", "verdict", "what it measured"], trows, "targets")
    steps = report.get("next_steps") or []
    if steps:
        body += "<h3>Next steps</h3><ul>" + "".join(f"<li>{esc(s)}</li>" for s in steps) + "</ul>"
    return body + "</section>"


def _quantization(report: dict[str, Any]) -> str:
    q = report.get("quantization")
    if not q:
        return ""
    body = (f'<section id="quantization"><h2>Quantization: {esc(q.get("mode", ""))}</h2>'
            f'<p>I/O {esc(q.get("io") or "float")}; requested budget: {esc(", ".join(q.get("budget_requested") or []))}; '
            f'{_num(q.get("seconds"))} s</p>')
    if q.get("error"):
        return body + f'<p class="bad">{esc(q["error"])}</p></section>'
    cal = q.get("calibration") or {}
    if cal:
        body += (f'<p>Calibration: {esc(cal.get("source", ""))}, {_num(cal.get("count"))} samples, '
                 f'{_num(cal.get("held_out"))} held out{" (generated)" if cal.get("generated") else ""}.</p>')
        body += "".join(f'<p class="note">{esc(n)}</p>' for n in cal.get("notes") or [])
    rows = [[esc(s.get("output", "")), esc(s.get("metric", "")), _num(s.get("limit"), 4), _num(s.get("achieved"), 4),
             _ok(s.get("ok"))] for s in q.get("budget") or []]
    body += "<h3>Budget</h3>" + _table(["output", "metric", "limit", "achieved", ""], rows, "budget")
    layers = [[_code(e.get("tensor", "")), esc(e.get("op", "")), _num(e.get("nsr"), 4)] for e in q.get("float_layers") or []]
    body += "<h3>Layers kept float</h3>" + _table(["tensor", "op", "noise/signal"], layers, "layers")
    size, latency = q.get("size") or {}, q.get("latency") or {}
    body += _table(["", "float", "quantized"], [["bytes", _num(size.get("float")), _num(size.get("quantized"))],
                                                 ["latency (ms)", _num(latency.get("float"), 4),
                                                  _num(latency.get("quantized"), 4)]], "qsize")
    steps = [[str(i), esc(", ".join(s.get("float_layers") or []) or "none"), _ok(s.get("ok")), esc(s.get("why", "")),
              _num(s.get("seconds"), 4)] for i, s in enumerate(q.get("steps") or [])]
    body += "<h3>Search steps</h3>" + _table(["step", "float layers", "", "why", "seconds"], steps, "steps")
    if q.get("refusal"):
        body += f'<p class="bad">{esc(q["refusal"])}</p>'
    return body + "</section>"


_CSS = """
body{font:14px/1.45 system-ui,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1400px;padding:0 18px 40px}
body{color:#1d232b}
h1{font-size:22px;margin:18px 0 6px}
h2{font-size:18px;border-bottom:1px solid #d7dbe0;padding-bottom:3px;margin-top:28px}
h3{font-size:15px;margin:14px 0 6px}
code{font:12.5px ui-monospace,Menlo,Consolas,monospace;background:#f3f4f6;padding:0 3px;border-radius:3px;word-break:break-all}
table{border-collapse:collapse;margin:6px 0 10px}
td,th{border:1px solid #d7dbe0;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f7f9}
.muted{color:#6b7380}
.ok{color:#137333;font-weight:600}
.bad{color:#b3261e;font-weight:600}
.verdict{padding:4px 14px;border-radius:6px;border-left:6px solid}
.verdict.v-ok{background:#eef8ef;border-color:#2e9d45}
.verdict.v-bad{background:#fdf0ef;border-color:#d0453a}
.verdict h2{border:none}
.message{font-size:15px}
.facts td:first-child{color:#6b7380}
.tag{font-size:12px;background:#e8eaee;border-radius:3px;padding:1px 6px;font-weight:400}
.outcome-applied{background:#d6f1d8}
.fix{border:1px solid #e2e5e9;border-radius:6px;padding:2px 12px;margin:10px 0}
.note{background:#f6f7f9;border-left:3px solid #9aa3ae;padding:4px 10px}
.legend-item{margin-right:16px;white-space:nowrap}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid #8a929c;margin-right:5px;vertical-align:-1px}
.swatch.diamond{transform:rotate(45deg);width:9px;height:9px;background:#2e7bd6}
.swatch.tolswatch{border:none;border-left:2px dashed #d0453a;width:6px}
.swatch.dot{border-radius:50%;background:#7f8c9b;width:8px;height:8px}
.graph-sides{display:grid;grid-template-columns:1fr 1fr;gap:12px}
.panel{border:1px solid #d7dbe0;border-radius:6px;padding:4px 10px;min-width:0}
.canvas{overflow:auto;max-height:80vh}
.canvas svg{display:block}
.empty-side{color:#6b7380;font-style:italic}
.node rect{stroke:#6b7380;stroke-width:1}
.node.added rect,.node.removed rect,.node.changed rect{stroke:#1d232b;stroke-width:1.6}
.node.blocking rect{stroke:#b3261e;stroke-width:3}
.swatch.blocking{border:3px solid #b3261e;background:#fff}
.graph-sides.single{grid-template-columns:1fr}
.node text{font:11px ui-monospace,Menlo,Consolas,monospace;fill:#1d232b}
.node text.op{font-weight:700}
.edge{fill:none;stroke:#8a929c;stroke-width:1.1}
.chart text.lbl{font:12px ui-monospace,Menlo,Consolas,monospace}
.chart text.num{font:11px system-ui,sans-serif;fill:#4a525c}
.chart .grid{stroke:#e4e7eb}
.chart .tol{stroke:#d0453a;stroke-width:2;stroke-dasharray:5 3}
.chart .max.pass{fill:#2e7bd6}
.chart .max.fail{fill:#d0453a}
.chart .quantile{fill:#7f8c9b}
.chart .range{stroke:#b5bcc5;stroke-width:3}
details{margin:6px 0}
summary{cursor:pointer;color:#2e5f9e}
"""

# The picture: dagre lays out each side; the SVG is built with createElementNS and textContent only (names are data,
# never markup). The time from the start of the layout to the last side drawn is kept on #graph-picture.
_JS = r"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var FILL = %(fills)s;
  var holder = document.getElementById("graph-picture");
  var dataEl = document.getElementById("graph-data");
  if (!holder || !dataEl) { return; }
  var started = performance.now();
  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { e.setAttribute(k, attrs[k]); }
    if (parent) { parent.appendChild(e); }
    return e;
  }
  function clip(s, n) { return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  // A node's name is a path (scope/scope/op): its tail says the most.
  function tail(s, n) { return s.length > n ? "\u2026" + s.slice(s.length - n + 1) : s; }
  var canvas = document.createElement("canvas").getContext("2d");
  function width(s, font) { canvas.font = font; return canvas.measureText(s).width; }
  function draw(side, box) {
    var g = new dagre.graphlib.Graph({ multigraph: false });
    g.setGraph({ rankdir: "TB", nodesep: 18, ranksep: 28, marginx: 8, marginy: 8 });
    g.setDefaultEdgeLabel(function () { return {}; });
    side.nodes.forEach(function (n) {
      var op = clip(n.op, 40), name = tail(n.id, 40);
      var w = Math.max(width(op, "bold 11px monospace"), width(name, "11px monospace")) + 16;
      g.setNode(n.id, { width: Math.max(60, w), height: 36, node: n, op: op, name: name });
    });
    side.edges.forEach(function (e) { if (g.hasNode(e.source) && g.hasNode(e.target)) { g.setEdge(e.source, e.target); } });
    dagre.layout(g);
    var size = g.graph();
    var svg = el("svg", { width: Math.ceil(size.width), height: Math.ceil(size.height),
                          viewBox: "0 0 " + Math.ceil(size.width) + " " + Math.ceil(size.height), role: "img" }, null);
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "arrow-" + box.id, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
                                markerHeight: 7, orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8a929c" }, marker);
    g.edges().forEach(function (e) {
      var pts = g.edge(e).points;
      var d = "M" + pts.map(function (p) { return p.x.toFixed(1) + "," + p.y.toFixed(1); }).join(" L");
      el("path", { d: d, "class": "edge", "marker-end": "url(#arrow-" + box.id + ")" }, svg);
    });
    g.nodes().forEach(function (id) {
      var v = g.node(id), n = v.node;
      var blocked = (data.blocking || []).indexOf(n.op) >= 0 ? " blocking" : "";
      var grp = el("g", { "class": "node " + n.state + blocked, transform: "translate(" + (v.x - v.width / 2).toFixed(1) + "," +
                                                             (v.y - v.height / 2).toFixed(1) + ")" }, svg);
      grp.setAttribute("data-state", n.state);
      el("rect", { width: v.width.toFixed(1), height: v.height, rx: 4, fill: FILL[n.state] || "#fff" }, grp);
      var t1 = el("text", { x: 8, y: 15, "class": "op" }, grp); t1.textContent = v.op;
      var t2 = el("text", { x: 8, y: 29 }, grp); t2.textContent = v.name;
      var tip = el("title", {}, grp);
      tip.textContent = n.id + "\n" + n.op + " (" + n.state + ")" + (n.note ? "\n" + n.note : "");
    });
    box.appendChild(svg);
    // The whole change fits the panel first (a wide unrolled loop included); a click shows it at full size, scrolled
    // to the first marked node, and a second click fits it again.
    var scale = Math.min(1, (box.clientWidth - 4) / size.width);
    var full = { w: Math.ceil(size.width), h: Math.ceil(size.height) };
    function fit(on) {
      svg.setAttribute("width", on ? Math.floor(full.w * scale) : full.w);
      svg.setAttribute("height", on ? Math.floor(full.h * scale) : full.h);
      svg.setAttribute("data-fit", on ? "1" : "0");
    }
    fit(true);
    if (scale < 1) {
      svg.style.cursor = "zoom-in";
      svg.addEventListener("click", function () {
        var fitted = svg.getAttribute("data-fit") === "1";
        fit(!fitted);
        svg.style.cursor = fitted ? "zoom-out" : "zoom-in";
        var first = svg.querySelector(".node.added, .node.removed, .node.changed");
        if (fitted && first) { first.scrollIntoView({ block: "center", inline: "center" }); }
      });
      var hint = document.createElement("p"); hint.className = "muted";
      hint.textContent = "Shrunk to fit (" + Math.round(scale * 100) + "%%): click the picture for full size.";
      box.insertBefore(hint, svg);
    }
  }
  var data = JSON.parse(dataEl.textContent);
  ["before", "after"].forEach(function (key) {
    var box = document.getElementById("graph-" + key);
    var side = data[key];
    if (!box || !side || !side.nodes.length) { return; }
    try { draw(side, box); } catch (err) {
      var p = document.createElement("p"); p.className = "bad";
      p.textContent = "The picture could not be drawn: " + err;
      box.appendChild(p);
      console.error("report.html: layout of the " + key + " side failed: " + err);
    }
  });
  holder.setAttribute("data-render-ms", (performance.now() - started).toFixed(1));
  holder.setAttribute("data-rendered", "1");
})();
"""


def render(report: dict[str, Any], change: GraphChange | None, change_error: str = "") -> str:
    """report.html for one run: ``report`` is report.json's dict (``repair.fix.report.to_json``), ``change`` the
    graph change (None: not computed, and ``change_error`` says why). Returns the whole page, self-contained."""
    name = str(report.get("input", "")).rstrip("/").rsplit("/", 1)[-1]
    before = report.get("before")
    after = report.get("after")
    js = _JS % {"fills": json.dumps(_STATE_COLOURS)}
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # No network: nothing may load from elsewhere, even if a name slipped through as markup.
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; img-src data:\">",
        f"<title>repair report: {esc(name)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>repair report: {esc(name)}</h1>",
        _verdict(report),
        _findings(before, "Findings before", "findings-before"),
        _findings(after, "Findings after", "findings-after"),
        _fixes(report),
        _graph(change, change_error, report),
        _ops(report),
        _parity(report),
        _gate(report),
        _sizes_timings(report),
        _quantization(report),
        f'<script>{_dagre()}</script>',
        f"<script>{js}</script>",
        "</body></html>",
    ]
    return "\n".join(p for p in parts if p) + "\n"


__all__ = ["render", "script_json"]
