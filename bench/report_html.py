"""What report.html costs: ``render()`` seconds in Python and the graph picture's layout in headless Chromium.

Two runs of the real ``repair fix``: a small corpus case (ops/flex_roll, a Roll replaced by slices) and a
ResNet50-sized change (keras.applications.ResNet50(weights=None), ``model.export``ed with an unknown batch, the batch
pinned with ``repair fix --pin KEY=1,224,224,3``). For each: the graph change read again from the two SavedModels
(``graph_change``, the seconds ``write_reports`` spends on it, TensorFlow already imported; for ResNet50 also
with 8 and 30 hops, to see the layout grow with the picture), ``render()`` on report.json (median of 5), the page's
bytes, and the in-page layout time (dagre + SVG, ``data-render-ms`` on #graph-picture; median of 3 loads) in Debian's
/usr/bin/chromium through Playwright. Figures, never a test.

``report_html.py [--work DIR] [--skip-resnet]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PY = sys.executable
REPAIR = str(Path(PY).parent / "repair")

EXPORT_RESNET = r'''
import sys
import keras
keras.utils.set_random_seed(0)
model = keras.applications.ResNet50(weights=None, input_shape=(224, 224, 3))
model.export(sys.argv[1], verbose=False)
'''

KEY = r'''
import sys
import tensorflow as tf
sig = tf.saved_model.load(sys.argv[1]).signatures["serving_default"]
print(next(iter(sig.structured_input_signature[1])))
'''


def _sh(*cmd: str) -> str:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return proc.stdout


def _fix(model: Path, out: Path, *flags: str) -> float:
    started = time.perf_counter()
    _sh(REPAIR, "fix", str(model), "--out", str(out), "--force", *flags)
    return time.perf_counter() - started


def _measure(name: str, model: Path, out: Path, page: object, hops: int = 2) -> dict[str, object]:
    from repair.fix.html import render
    from repair.model.change import graph_change

    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    graph_change(model, out, hops=hops)  # warm: the first call pays for importing TensorFlow's protos
    started = time.perf_counter()
    change = graph_change(model, out, hops=hops)  # the published model: the same graph write_reports read in scratch
    change_s = time.perf_counter() - started
    renders = []
    for _ in range(5):
        started = time.perf_counter()
        page_text = render(report, change)
        renders.append(time.perf_counter() - started)
    html = out / "report.bench.html"
    html.write_text(page_text, encoding="utf-8")
    layouts = []
    for _ in range(3):
        page.goto(html.as_uri(), wait_until="load")  # type: ignore[attr-defined]
        layouts.append(float(page.get_attribute("#graph-picture", "data-render-ms")))  # type: ignore[attr-defined]
    drawn = sum(len(s.nodes) for s in (change.before, change.after) if s)
    total = sum(s.total_nodes for s in (change.before, change.after) if s)
    return {"case": name if hops == 2 else f"{name}, {hops} hops",
            "graph_change_s": change_s, "render_s": statistics.median(renders), "page_bytes": len(page_text),
            "layout_ms": statistics.median(layouts), "drawn": drawn, "total": total, "summary": change.summary}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "repair-bench-report-html")
    parser.add_argument("--skip-resnet", action="store_true")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    cases: list[tuple[str, Path, Path, float]] = []
    small = work / "flex_roll"
    if not (small / "saved_model").exists():
        _sh(PY, "-m", "corpora", "build", "ops/flex_roll", str(small))
    cases.append(("ops/flex_roll", small / "saved_model", work / "flex_roll_out", _fix(small / "saved_model",
                                                                                        work / "flex_roll_out")))
    if not args.skip_resnet:
        resnet = work / "resnet50"
        if not (resnet / "saved_model.pb").exists():
            _sh(PY, "-c", EXPORT_RESNET, str(resnet))
        key = _sh(PY, "-c", KEY, str(resnet)).strip().splitlines()[-1]
        cases.append(("ResNet50 --pin", resnet, work / "resnet50_out",
                      _fix(resnet, work / "resnet50_out", "--pin", f"{key}=1,224,224,3")))
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                     args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for name, model, out, fix_s in cases:
            # More hops draw more of the graph: how the in-page layout grows with the picture (2 is what fix writes).
            for hops in (2, 8, 30) if name.startswith("ResNet50") else (2,):
                row = _measure(name, model, out, page, hops)
                row["fix_s"] = fix_s
                rows.append(row)
        browser.close()
    print("| case | repair fix s | graph_change s | render() s | page bytes | layout ms (Chromium) | nodes drawn / in graphs |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['case']} | {r['fix_s']:.1f} | {r['graph_change_s']:.3f} | {r['render_s']:.4f} | {r['page_bytes']:,} | "
              f"{r['layout_ms']:.1f} | {r['drawn']} / {r['total']} |")
    for r in rows:
        print(f"{r['case']}: {r['summary']}")


if __name__ == "__main__":
    main()
