"""Hostile text: strings a model controls never reach a terminal or report.md raw (issue 12, item 4).

A signature key, an input key, an output key and a node name are chosen by whoever made the model. Here they
carry a CSI clear-screen (ESC [2J), an OSC 8 hyperlink (terminated by ESC \\ in the keys, by BEL in the
signature key), a C1 CSI (U+009B), rich markup ([red]x[/red], [link=...]), HTML (<img onerror>, <script>), a
table pipe, backticks and a newline. Measured in TF 2.21: tf.saved_model.save accepts any string as a signature
key or an output key, but an input key must be a valid op name (it names the placeholder), and the converter
refuses a signature key holding a backslash (it becomes part of a node name). So two models, built once:

- ``fixable``: hostile signature key (BEL-terminated OSC 8) and output key, input key ``x``, no serving_default:
  ``repair fix`` adds serving_default and publishes (exit 0), quoting both keys in its output and reports;
- ``crafted``: the same, with saved_model.pb edited by hand as an attacker would: a hostile input key (the
  SignatureDef and the saved function's input spec) and a hostile node name. Its protos read fine; TensorFlow's
  importer, the converter and the re-export refuse the node name with messages that quote it (measured; with the
  input key alone it still loads and runs).

Terminal output is checked in a real process (tests/hostile.py: supervisor + child, the real consoles); the
escapers of repair/core/text.py are checked by rendering their output (rich, markdown-it) and reading it back.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from markdown_it import MarkdownIt
from rich.console import Console

from repair.core import text
from tests.conftest import tree_digest
from tests.hostile import Probe, assert_clean, assert_out_absent_or_complete, run

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ("\x1b[2J\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\\x9b31m[red]x[/red][link=http://evil]y[/link]"
           "<img src=x onerror=alert(1)><script>alert(2)</script>|`tick`\nline2")
SIG_HOSTILE = HOSTILE.replace("\x1b\\", "\x07")  # the converter refuses a signature key with a backslash
SIGNATURE, INPUT, OUTPUT, NODE = "sig_" + SIG_HOSTILE, "in_" + HOSTILE, "out_" + HOSTILE, "node_" + HOSTILE
# Terminal control: C0 but newline and tab, DEL, C1. Any of them in output means a sequence reached the terminal.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

BUILD = r'''
import json, sys
import tensorflow as tf
from google.protobuf import text_format
from tensorflow.core.protobuf import saved_model_pb2

names = json.loads(sys.argv[1])
fixable, crafted = sys.argv[2], sys.argv[3]


class Model(tf.Module):
    def __init__(self):
        self.w = tf.Variable([[2.0]])

    @tf.function(input_signature=[tf.TensorSpec([None, 1], tf.float32, name="x")])
    def f(self, x):
        return {names["output"]: tf.matmul(x, self.w, name="node")}


for dest in (fixable, crafted):
    m = Model()
    tf.saved_model.save(m, dest, signatures={names["signature"]: m.f})

# The crafted one: edit saved_model.pb as an attacker would.
path = crafted + "/saved_model.pb"
sm = saved_model_pb2.SavedModel()
sm.ParseFromString(open(path, "rb").read())
mg = sm.meta_graphs[0]
sig = mg.signature_def[names["signature"]]
sig.inputs[names["input"]].CopyFrom(sig.inputs["x"])
del sig.inputs["x"]
# The saved function's input spec and argument keywords (what TF2's loader rebuilds the signature from).
graph = text_format.MessageToString(mg.object_graph_def, as_utf8=True)
graph = graph.replace('"x"', json.dumps(names["input"]))  # a JSON string literal is a valid text-format string
mg.object_graph_def.Clear()
text_format.Parse(graph, mg.object_graph_def)
for fn in mg.graph_def.library.function:
    for node in fn.node_def:
        if node.name == "node":
            node.name = names["node"]
        node.input[:] = [names["node"] + i[4:] if i.startswith("node:") else i for i in node.input]
    for key, value in list(fn.ret.items()):
        if value.startswith("node:"):
            fn.ret[key] = names["node"] + value[4:]
open(path, "wb").write(sm.SerializeToString())
'''


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Both models, built in one subprocess (one TensorFlow import)."""
    root = tmp_path_factory.mktemp("hostile_text")
    names = {"signature": SIGNATURE, "input": INPUT, "output": OUTPUT, "node": NODE}
    built = {"fixable": root / "fixable", "crafted": root / "crafted"}
    proc = subprocess.run([sys.executable, "-c", BUILD, json.dumps(names), str(built["fixable"]), str(built["crafted"])],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return built


def _assert_no_control(probe: Probe) -> None:
    for name, stream in (("stdout", probe.stdout), ("stderr", probe.stderr)):
        found = sorted({hex(ord(c)) for c in CONTROL.findall(stream)})
        assert not found, f"control characters {found} reached {name}\n{probe.show()}"


def _unescaped_pipes(line: str) -> int:
    count, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        count += line[i] == "|"
        i += 1
    return count


def _assert_safe_markdown(md: str) -> str:
    """report.md: no control characters, no HTML a viewer would run, every table row as wide as its header.
    Returns the rendered HTML."""
    found = sorted({hex(ord(c)) for c in CONTROL.findall(md)})
    assert not found, f"control characters {found} in report.md"
    lines = md.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("|") and i + 1 < len(lines) and re.fullmatch(r"\|(---\|)+", lines[i + 1]):
            width = _unescaped_pipes(line)
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                borders = _unescaped_pipes(row)
                assert borders == width, f"a table row has {borders} cell borders, its header {width}:\n{row}"
    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    tokens = parser.parse(md)
    raw_html = [t for t in tokens if t.type == "html_block"]
    raw_html += [c for t in tokens if t.children for c in t.children if c.type == "html_inline"]
    assert not raw_html, f"raw HTML in report.md outside code: {[t.content for t in raw_html][:3]}"
    rendered = parser.render(md)
    assert "<script" not in rendered and "<img" not in rendered
    # Tables as a GFM renderer reads them: every row has as many cells as the header.
    for table in re.findall(r"<table>.*?</table>", rendered, re.S):
        heads = len(re.findall(r"<th[ >]", table))
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
            assert len(re.findall(r"<td[ >]", row)) == heads, row
    return rendered


# --- probes: the real entry point -------------------------------------------------------------------------


def test_diagnose_prints_keys_as_text(models: dict[str, Path]) -> None:
    """Probe: `repair diagnose` on the crafted model (hostile signature, input and output keys, node name).
    Expected: exit 1 (blocking findings); no ESC/C1/BEL byte on stdout or stderr; the markup is shown as text."""
    digest = tree_digest(models["crafted"])
    probe = run("diagnose", models["crafted"])
    assert probe.exit_code == 1, probe.show()
    assert_clean(probe, code=1, input_path=models["crafted"], digest=digest)
    _assert_no_control(probe)
    assert "[red]x[/red][link=http://evil]y[/link]<img src=x onerror=alert(1)>" in probe.stdout, probe.show()
    assert "in_?[2J?]8;;http://evil?\\link" in probe.stdout  # the input key, whole (the table folds, never cuts)
    assert "converter-error" in probe.stdout


def test_diagnose_verbose_evidence_is_escaped(models: dict[str, Path]) -> None:
    """Probe: `repair diagnose -v`: the raw evidence (converter text quoting the node name, the signature list).
    Expected: exit 1; the evidence is printed, multi-line, with every control character shown as '?'."""
    probe = run("diagnose", "-v", models["crafted"])
    assert probe.exit_code == 1, probe.show()
    _assert_no_control(probe)
    assert "converter-error evidence:" in probe.stdout
    assert "node_?[2J?]8;;http://evil?\\link?]8;;?\\?31m[red]x[/red]" in probe.stdout, probe.show()


def test_diagnose_json_is_verbatim(models: dict[str, Path]) -> None:
    """Probe: `repair diagnose --json`. Expected: exit 1; valid JSON whose strings are the keys exactly as the
    model has them (JSON escapes the control characters, so none reaches the terminal)."""
    probe = run("diagnose", "--json", models["crafted"])
    assert probe.exit_code == 1, probe.show()
    _assert_no_control(probe)
    body = json.loads(probe.stdout)
    by_id = {f["id"]: f for f in body["findings"]}
    assert by_id["no-serving-default"]["subject"] == SIGNATURE
    assert NODE in by_id["converter-error"]["evidence"]


def test_fix_publishes_and_reports_escape(models: dict[str, Path], tmp_path: Path) -> None:
    """Probe: `repair fix --out` on the fixable model (hostile signature and output keys, no serving_default).
    Expected: exit 0, repaired and verified; stdout/stderr free of control characters; report.md without raw HTML,
    its tables intact, the keys shown as written; report.json holds the keys verbatim."""
    digest = tree_digest(models["fixable"])
    out = tmp_path / "fixed"
    probe = run("fix", models["fixable"], "--out", out)
    assert_clean(probe, code=0, input_path=models["fixable"], digest=digest, out=out)
    _assert_no_control(probe)
    assert "[red]x[/red][link=http://evil]y[/link]" in probe.stdout
    md = (out / "report.md").read_text(encoding="utf-8")
    rendered = _assert_safe_markdown(md)
    # Shown once-escaped: the renderer gives the key back as written (a '[' rich-escaped before would show '\[').
    assert "[red]x[/red][link=http://evil]y[/link]&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;" in rendered
    assert "\\[red" not in rendered
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "repaired" and all(c["ok"] for c in report["gate"])
    keys = {row[1] for fix in report["fixes"] for row in fix["signature_after"]}
    assert OUTPUT in keys
    assert report["before"]["findings"][0]["subject"] == SIGNATURE


def test_fix_failure_report_escapes_exception_text(models: dict[str, Path], tmp_path: Path) -> None:
    """Probe: `repair fix --out --report` on the crafted model: the re-export fails with a TensorFlow message that
    quotes the hostile node name. Expected: exit 3 (verification failed), nothing at --out, no control character on
    the terminal; report.md (hostile input key in the signature table, the message in the status line) safe."""
    digest = tree_digest(models["crafted"])
    out, reports = tmp_path / "fixed", tmp_path / "reports"
    probe = run("fix", models["crafted"], "--out", out, "--report", reports)
    assert probe.exit_code == 3, probe.show()
    assert_clean(probe, code=3, input_path=models["crafted"], digest=digest)
    assert not out.exists()
    assert_out_absent_or_complete(out)
    _assert_no_control(probe)
    md = (reports / "report.md").read_text(encoding="utf-8")
    _assert_safe_markdown(md)
    assert "in\\_?\\[2J" in md or "``in_?[2J" in md  # the input key is in the report, escaped
    report = json.loads((reports / "report.json").read_text(encoding="utf-8"))
    assert NODE.split("\n")[0] in report["message"]
    assert INPUT in {row[1] for fix in report["fixes"] for row in fix["signature_before"]}


# --- the escapers and the CLI printers, in this process (no TensorFlow) ------------------------------------

SAMPLES = [HOSTILE, SIGNATURE, "plain", "", "trailing\\", "\\[red]x", "[bold]b[/bold] [/] [@click=x]y[/]",
           "a|b|c", "``code``", "`", "tab\there", "cr\rline", "bidi\u202etxet", "\udcff\udc9bbytes", ":warning: emoji",
           "*em* _u_ ~~s~~ # h <b>&amp;</b>", "line\u2028sep"]


def _rich(markup: str) -> str:
    console = Console(file=io.StringIO(), width=10_000, emoji=False, color_system=None, force_terminal=False)
    console.print(markup, highlight=False, soft_wrap=True)
    return console.file.getvalue().rstrip("\n")  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", SAMPLES)
def test_terminal_shows_the_text_with_controls_replaced(value: str) -> None:
    """terminal(): rich prints exactly the text (controls as '?', one line): no markup rendered, no escape left."""
    shown = _rich(text.terminal(value))
    assert shown == text.plain(value)
    assert not CONTROL.search(shown) and "\n" not in shown
    block = _rich(text.terminal_block(value))
    assert block == text.plain_block(value).rstrip("\n").expandtabs(8) and not CONTROL.search(block)


@pytest.mark.parametrize("value", SAMPLES)
def test_markdown_renders_back_to_the_text(value: str) -> None:
    """markdown(): a renderer shows the text as written (one line, controls as '?'), in prose and in a table cell."""
    import html as html_lib

    parser = MarkdownIt("commonmark", {"html": True}).enable("table")
    expected = text.plain(value.replace("\r\n", " ").replace("\n", " "))
    prose = parser.render("x " + text.markdown(value) + " y")
    assert "<script" not in prose and "<img" not in prose and "<b>" not in prose
    assert html_lib.unescape(re.sub(r"</?p>", "", prose)).strip() == ("x " + expected + " y").strip()
    table = parser.render(f"| a | b |\n|---|---|\n| {text.markdown(value)} | {text.markdown_code(value)} |\n")
    cells = re.findall(r"<td>(.*?)</td>", table, re.S)
    assert len(cells) == 2, table
    assert html_lib.unescape(cells[0]).strip() == expected.strip()
    code = re.fullmatch(r"<code>(.*)</code>", cells[1], re.S)
    assert code is not None, cells[1]
    assert html_lib.unescape(code.group(1)).strip(" ") == expected.strip(" ")
    inline = parser.render(text.markdown_code(value, cell=False))
    assert html_lib.unescape(re.search(r"<code>(.*)</code>", inline, re.S).group(1)).strip(" ") == expected.strip(" ")  # type: ignore[union-attr]


@pytest.mark.parametrize("value", [*SAMPLES, "a\n```\nb", "x\n````\n```` y\n```", "<script>\n\n</script>"])
def test_markdown_fence_cannot_be_closed_from_inside(value: str) -> None:
    """markdown_fence(): one code block whatever the text holds (backtick runs, blank lines, HTML)."""
    import html as html_lib

    md = "\n".join(["before", "", *text.markdown_fence(value, "diff"), "", "after"])
    rendered = MarkdownIt("commonmark", {"html": True}).render(md)
    blocks = re.findall(r"<pre><code[^>]*>(.*?)</code></pre>", rendered, re.S)
    assert len(blocks) == 1, rendered
    assert html_lib.unescape(blocks[0]).rstrip("\n") == text.plain_block(value).rstrip("\n")
    assert rendered.rstrip().endswith("<p>after</p>")


def test_html_round_trips() -> None:
    import html as html_lib

    for value in SAMPLES:
        escaped = text.html(value)
        assert "<" not in escaped and '"' not in escaped and not CONTROL.search(escaped)
        assert html_lib.unescape(escaped) == text.plain_block(value)


def test_cli_printers_escape_model_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """The prompt (title, location, preview diff, details), findings and the one error line, through the CLI's own
    consoles: nothing the model chose reaches the terminal as a control sequence or as markup."""
    from repair import cli
    from repair.core.decide import Proposal, ProposalKind
    from repair.core.errors import BadInput
    from repair.core.findings import Finding, FindingKind, Severity, Source
    from repair.core.safety import Safety

    sink = io.StringIO()
    console = Console(file=sink, width=10_000, emoji=False, color_system=None, force_terminal=False, soft_wrap=True)
    monkeypatch.setattr(cli, "out", console)
    monkeypatch.setattr(cli, "err", console)
    monkeypatch.setattr(sys, "stdin", io.StringIO("d\ny\n"))
    proposal = Proposal(id="p1", kind=ProposalKind.SOURCE, rewrite_id="add_serving_default", safety=Safety.SAFE,
                        title=HOSTILE, location=OUTPUT, preview=lambda: f"-{HOSTILE}\n+{OUTPUT}", details=lambda: NODE)
    assert cli.Prompt()(proposal).value == "accept"
    finding = Finding(FindingKind.CONVERTER_ERROR, Severity.ERROR, Source.CONVERTER, HOSTILE, HOSTILE, evidence=HOSTILE,
                      no_fix_reason=HOSTILE)
    cli._print_findings([finding], console)

    def fail() -> int:
        raise BadInput(f"--signature {SIGNATURE}: no such signature")

    with pytest.raises(typer.Exit):  # the one line is printed, then the command exits 2
        cli._guard(fail)
    shown = sink.getvalue()
    assert not CONTROL.search(shown), sorted({hex(ord(c)) for c in CONTROL.findall(shown)})
    assert shown.count("[red]x[/red][link=http://evil]y[/link]") >= 6, shown
    assert "repair: --signature sig_?[2J" in shown and "?line2: no such signature" in shown


def test_no_private_escaper_left_in_cli() -> None:
    """One escaper per medium (repair/core/text.py): the CLI's old _shown/_CONTROL are gone."""
    from repair import cli

    assert not hasattr(cli, "_shown") and not hasattr(cli, "_CONTROL")
