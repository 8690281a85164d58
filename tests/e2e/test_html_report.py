"""report.html in a real browser: headless Debian Chromium (through Playwright) loads the page `repair fix` wrote.

For a retag, a graph-surgery fix, a refused model (--report) and the Keras 3 rebind, the real `repair fix` runs on
the corpus case; the page is loaded from file:// with the network off and must load without a console error or a
page error, draw its graph picture (SVG nodes with a non-zero box, laid out in the page; the layout time is on the
picture as data-render-ms), and hold its op histogram. A model whose keys carry HTML and script must show them as
text: no element, no dialog. Each page's screenshot is kept under tests/artifacts/html/ (gitignored).

Chromium is the OS package (/usr/bin/chromium, `apt-get install chromium`); Playwright never downloads a browser
here. Without it the tests skip, except in CI (the CI environment variable set), where they fail.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import repair
from tests.conftest import Corpus
from tests.e2e.conftest import CorpusFixes

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "tests" / "artifacts" / "html"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class ReportPage:
    """One Chromium page (one browser per session) that loads report.html files and records what went wrong."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", lambda msg: self.errors.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(f"page error: {exc}"))
        page.on("dialog", self._dialog)
        # file:// only: a request anywhere else would mean the page is not self-contained.
        page.route(re.compile(r"^(?!file:).*"), lambda route: (self.errors.append(f"network: {route.request.url}"),
                                                              route.abort()))

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def load(self, path: Path) -> None:
        self.errors.clear()
        self.dialogs.clear()
        self.page.goto(path.resolve().as_uri(), wait_until="load")


class _Shared:
    """The process's one Playwright and Chromium. Two modules' session fixtures use it (this one and the corpus run's):
    a second sync_playwright() in the same thread fails ("Sync API inside the asyncio loop"), so they share, counted."""

    users = 0
    profile = ""
    playwright: Any = None
    context: Any = None
    page: ReportPage | None = None


def _browser(required: bool) -> Iterator[ReportPage | None]:
    """The headless Chromium page (a fresh profile); None when Chromium is missing and not ``required``."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing in CI: .ci/run installs the Debian chromium package")
        if required:
            pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
        yield None
        return
    from playwright.sync_api import sync_playwright

    if _Shared.users == 0:
        _Shared.profile = tempfile.mkdtemp(prefix="repair-chromium-")
        _Shared.playwright = sync_playwright().start()
        _Shared.context = _Shared.playwright.chromium.launch_persistent_context(
            _Shared.profile, executable_path=str(CHROMIUM), args=ARGS, headless=True, viewport={"width": 1400, "height": 900})
        _Shared.page = ReportPage(_Shared.context.new_page())
    _Shared.users += 1
    try:
        yield _Shared.page
    finally:
        _Shared.users -= 1
        if _Shared.users == 0:
            _Shared.context.close()
            _Shared.playwright.stop()
            _Shared.page = None
            shutil.rmtree(_Shared.profile, ignore_errors=True)


@pytest.fixture(scope="session")
def report_page() -> Iterator[ReportPage | None]:  # never None: _browser skips instead
    """The session's headless Chromium page for this module's tests (they skip without Chromium, fail in CI)."""
    yield from _browser(required=True)


@pytest.fixture(scope="session")
def optional_report_page() -> Iterator[ReportPage | None]:
    """The same for a test whose main subject is something else (the corpus run): None without Chromium locally, so
    that test still runs; in CI a missing Chromium fails it."""
    yield from _browser(required=False)


def check_report_html(report_page: ReportPage, html: Path, shot: str, *, picture: bool | None = None) -> dict[str, Any]:
    """Load ``html``, assert it rendered cleanly, keep a screenshot as tests/artifacts/html/``shot``.png, and return
    what the picture showed. ``picture``: True, the graph picture must have drawn nodes; None, it must have them when
    the change marked any node (a run with no graph change says why instead)."""
    report_page.load(html)
    page = report_page.page
    assert not report_page.errors, report_page.errors
    assert not report_page.dialogs, report_page.dialogs
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{shot.replace('/', '__')}.png"), full_page=True)
    assert page.locator("#verdict .status").inner_text().strip()
    data_text = page.evaluate("() => { const e = document.getElementById('graph-data'); return e ? e.textContent : null; }")
    change = json.loads(data_text) if data_text else None
    if change is None:
        assert page.locator("#graph-missing").inner_text().startswith("No picture:")
        assert picture is not True, "no graph change in the page: " + page.locator("#graph-missing").inner_text()
        return {"change": None, "boxes": [], "render_ms": None}
    assert page.get_attribute("#graph-picture", "data-rendered") == "1"
    render_ms = float(page.get_attribute("#graph-picture", "data-render-ms") or "nan")
    boxes = page.eval_on_selector_all("#graph-picture g.node",
                                      "els => els.map(e => { const r = e.getBoundingClientRect();"
                                      " return [e.getAttribute('data-state'), r.width, r.height]; })")
    drawn = sum(len(side["nodes"]) for side in (change["before"], change["after"]) if side)
    assert len(boxes) == drawn, (len(boxes), drawn)
    assert all(w > 0 and h > 0 for _, w, h in boxes), boxes
    marked = any(n["state"] != "same" for side in (change["before"], change["after"]) if side for n in side["nodes"])
    if picture or (picture is None and marked):
        assert boxes and any(state != "same" for state, _, _ in boxes), "the picture shows no changed node"
    assert page.locator("#graph-summary").inner_text() == change["summary"]
    return {"change": change, "boxes": boxes, "render_ms": render_ms}


def _fix(corpus: Corpus, corpus_fixes: CorpusFixes, case_id: str) -> tuple[Path, dict[str, Any]]:
    """`repair fix` on the case with its corpus flags and --report (the session's run of it: tests/e2e/conftest.py);
    the directory holding report.html and its json."""
    case = corpus.cases[case_id]
    run = corpus_fixes.fix(case_id)
    assert run.exit_code == case.expect.fix_exit, run.stdout + run.stderr
    where = run.out if case.expect.fix_exit == 0 else run.report_dir
    for name in ("report.html", "report.json", "report.md"):
        assert (where / name).is_file(), name
    return where, json.loads((where / "report.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case_id", ["tags/serve_gpu", "ops/flex_roll", "keras/keras3_saved_model_save"])
def test_repaired_case_renders(report_page: ReportPage, corpus: Corpus, corpus_fixes: CorpusFixes, case_id: str) -> None:
    """A retag, a graph surgery (Roll -> slices and a concat) and the Keras 3 rebind: published, and the page shows
    the change with nodes drawn, the .tflite op histogram with the after side's ops, and a passing parity plot."""
    where, report = _fix(corpus, corpus_fixes, case_id)
    seen = check_report_html(report_page, where / "report.html", case_id, picture=None)
    page = report_page.page
    after_ops = report["after"]["tflite"]["ops"]
    labels = page.eval_on_selector_all("#op-histogram text.lbl", "els => els.map(e => e.firstChild.textContent)")
    assert set(labels) == set(after_ops) | set((report["before"].get("tflite") or {}).get("ops", {}))
    outputs = report["after"]["parity"]["outputs"]
    assert page.locator("#parity-plot-0 path.max.pass").count() == len(outputs)
    # the |diff| distribution parity measured (p50/p90/p99/max per output): one dot each
    assert page.locator("#parity-plot-0 circle.quantile").count() == sum(len(o.get("abs_diff_quantiles") or {})
                                                                          for o in outputs) > 0
    assert page.locator("#gate tbody tr").count() == len(report["gate"])
    if case_id == "ops/flex_roll":  # the surgery is in the picture: Roll removed, slices added
        change = seen["change"]
        assert change is not None and change["removed"] >= 1 and change["added"] >= 1
        removed_ops = {n["op"] for n in change["before"]["nodes"] if n["state"] == "removed"}
        assert "Roll" in removed_ops, removed_ops
        if importlib.util.find_spec("repair.model.model_explorer") is not None:
            assert (where / "model_explorer.json").is_file()
        else:  # the overlay's writer is missing: the page says so, the reports are all there
            assert "model_explorer.json was not written" in page.locator("#graph-change").inner_text()


def test_refused_case_renders(report_page: ReportPage, corpus: Corpus, corpus_fixes: CorpusFixes) -> None:
    """A refused model (antialias resize has no builtin form): nothing published, report.html in --report shows the
    refusal as the verdict, and the page still loads cleanly."""
    where, report = _fix(corpus, corpus_fixes, "ops/resize_antialias")
    assert report["status"] != "repaired"
    check_report_html(report_page, where / "report.html", "ops/resize_antialias")
    page = report_page.page
    assert page.locator("#verdict .status").inner_text() == report["status"]
    assert page.locator("#verdict .exit").inner_text() == f"(exit {report['exit_code']})"
    # Nothing was applied: the original alone, its blocking op (the one the finding names) marked in the picture.
    assert page.locator("#graph-change h2").inner_text() == "The serving graph (no fix applied)"
    assert page.locator("#graph-picture .panel").count() == 1
    assert page.locator("#graph-picture g.node.blocking text.op").all_text_contents() == ["ScaleAndTranslate"]
    assert "blocking (named by a finding: ScaleAndTranslate)" in page.locator("#graph-legend").inner_text()


def test_hostile_names_stay_text(report_page: ReportPage, tmp_path: Path) -> None:
    """A model whose signature and output keys (and, crafted, an input key and a node name) carry <img onerror>,
    <script> and terminal escapes: the page shows them as text, runs none of them, and adds no element."""
    from tests.e2e.test_hostile_text import BUILD, INPUT, NODE, OUTPUT, SIGNATURE

    names = {"signature": SIGNATURE, "input": INPUT, "output": OUTPUT, "node": NODE}
    fixable, crafted = tmp_path / "fixable", tmp_path / "crafted"
    proc = subprocess.run([sys.executable, "-c", BUILD, json.dumps(names), str(fixable), str(crafted)],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    pages = []
    run = repair("fix", str(fixable), "--out", str(tmp_path / "fixed"))
    assert run.exit_code == 0, run.stdout + run.stderr
    pages.append(("hostile_fixable", tmp_path / "fixed" / "report.html"))
    run = repair("fix", str(crafted), "--out", str(tmp_path / "crafted_out"), "--report", str(tmp_path / "crafted_report"))
    assert run.exit_code != 0
    pages.append(("hostile_crafted", tmp_path / "crafted_report" / "report.html"))
    for shot, html in pages:
        check_report_html(report_page, html, shot, picture=False)
        page = report_page.page
        assert page.locator("img").count() == 0
        has_data = page.locator("#graph-data").count()
        assert page.locator("script").count() == 2 + has_data  # dagre, the picture's script, the graph data
        assert page.evaluate("() => typeof window.alert === 'function' && !document.querySelector('[onerror]')")
        text = page.locator("body").inner_text()
        assert "<img src=x onerror=alert(1)><script>alert(2)</script>" in text, shot
        data = page.evaluate("() => { const e = document.getElementById('graph-data'); return e ? e.textContent : null; }")
        if data is None:
            continue
        # A hostile node name went through the JSON block and came back intact, into the SVG as text only.
        ids = {n["id"] for side in ("before", "after") if (s := json.loads(data)[side]) for n in s["nodes"]}
        titles = page.eval_on_selector_all("#graph-picture g.node > title", "els => els.map(e => e.textContent)")
        for node_id in ids:
            assert any(t.startswith(node_id + "\n") for t in titles), node_id


HOSTILE_NAME = "n<img src=x onerror=alert(1)></script><script>alert(2)</script><!--"


def test_hand_built_change_escapes_node_names(report_page: ReportPage, tmp_path: Path) -> None:
    """render() on a hand-built GraphChange whose node names, ops and notes hold markup, with an empty before side and
    a report dict of hostile strings: the page keeps the names as text (in the picture's titles, intact), adds no
    element, shows the elided count and why the before side is empty. No model is built: the browser is the subject."""
    from repair.fix.html import render, script_json
    from repair.model.change import DrawnEdge, DrawnNode, GraphChange, GraphSide, NodeState

    assert "<" not in script_json({"k": HOSTILE_NAME}) and json.loads(script_json({"k": HOSTILE_NAME}))["k"] == HOSTILE_NAME
    nodes = tuple(DrawnNode(f"{HOSTILE_NAME}/{i}", "Conv2D<b>" if i else "Placeholder", state, note=HOSTILE_NAME)
                  for i, state in enumerate((NodeState.SAME, NodeState.ADDED, NodeState.CHANGED)))
    after = GraphSide("repaired: " + HOSTILE_NAME, nodes, (DrawnEdge(nodes[0].id, nodes[1].id),
                                                           DrawnEdge(nodes[1].id, nodes[2].id)), total_nodes=503, elided=500)
    change = GraphChange(None, after, added=1, removed=0, changed=1, hops=2, summary="1 added " + HOSTILE_NAME,
                         notes=("original: a .keras file has no serving graph " + HOSTILE_NAME,))
    report = {"status": "repaired", "exit_code": 0, "message": HOSTILE_NAME, "input": "/m/" + HOSTILE_NAME,
              "out": None, "target": "tflite", "interpreter": "ai-edge-litert", "before": None,
              "after": {"findings": [], "tflite": {"ops": {HOSTILE_NAME: 2, "ADD": 1}},
                        "parity": {"ok": True, "atol": 1e-5, "rtol": 1e-4, "input_shapes": {HOSTILE_NAME: [1, 2]},
                                   "outputs": [{"name": HOSTILE_NAME, "shape": [1, 2], "max_abs_diff": 3e-7,
                                                "max_rel_diff": 1e-6, "ok": True,
                                                "abs_diff_quantiles": {"p50": 1e-8, "p90": 5e-8, "p99": 2e-7, "max": 3e-7}}]}},
              "fixes": [{"rewrite": "r", "finding": HOSTILE_NAME, "safety": "safe", "outcome": "applied", "summary": "s",
                         "why": HOSTILE_NAME, "seconds": 0.1, "signature_before": [["input", HOSTILE_NAME, "float32", "[?,2]"]],
                         "signature_after": [["input", HOSTILE_NAME, "float32", "[1,2]"]], "tf_op_delta": {HOSTILE_NAME: 1}}],
              "gate": [{"check": HOSTILE_NAME, "ok": True, "detail": HOSTILE_NAME}], "bytes": {"input": 1, "output": 2},
              "timings_s": {"total": 1.0}}
    html = tmp_path / "report.html"
    html.write_text(render(report, change), encoding="utf-8")
    seen = check_report_html(report_page, html, "hand_built_hostile", picture=True)
    page = report_page.page
    assert page.locator("img").count() == 0 and page.locator("script").count() == 3
    assert [state for state, _, _ in seen["boxes"]] == ["same", "added", "changed"]
    titles = page.eval_on_selector_all("#graph-picture g.node > title", "els => els.map(e => e.textContent)")
    assert [t.split("\n")[0] for t in titles] == [n.id for n in nodes]
    panel = page.locator('.panel[data-side="after"]').inner_text()
    assert "500 of 503 nodes elided (outside 2 hops of a change)" in panel
    assert "No graph on this side: original: a .keras file" in page.locator('.panel[data-side="before"]').inner_text()
    assert page.locator("#parity-plot-0 circle.quantile").count() == 4
    assert page.locator("body").inner_text().count(HOSTILE_NAME) >= 8
