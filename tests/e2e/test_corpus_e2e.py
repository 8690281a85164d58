"""End to end on every corpus case: the real converter, the real interpreter, the real CLI.

For each case: ``repair diagnose`` reports what the case expects; ``repair fix`` ends with the
expected exit code and applies the expected rewrites; a repaired output is checked independently
of the tool (loaded with tag 'serve', converted again with default settings, run in the LiteRT
interpreter against TensorFlow); a refused or failed run leaves --out absent; the input is
byte-identical afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from corpora import all_cases
from tests.cli_helpers import repair
from tests.conftest import Corpus, tree_digest
from tests.e2e import test_html_report
from tests.e2e.conftest import CorpusFixes
from tests.e2e.test_html_report import ReportPage, check_report_html

optional_report_page = test_html_report.optional_report_page  # one headless Chromium for the session's report.html checks

CASES = [c.id for c in all_cases()]
pytestmark = pytest.mark.slow


def _args(args: tuple[str, ...], case_dir: Path) -> list[str]:
    return [a.replace("{case_dir}", str(case_dir)) for a in args]


@pytest.mark.parametrize("case_id", CASES)
def test_diagnose(corpus: Corpus, case_id: str) -> None:
    case = corpus.cases[case_id]
    artifact = corpus.artifact(case_id)
    before = tree_digest(artifact)
    run = repair("diagnose", str(artifact), "--json", *_args(case.expect.diagnose_args, corpus.case_dir(case_id)))
    assert run.exit_code in (0, 1), run.stderr
    report = json.loads(run.stdout)
    ids = {f["id"] for f in report["findings"]}
    assert case.expect.findings <= ids, f"missing {case.expect.findings - ids}; got {ids}"
    assert not (case.expect.absent & ids), f"unexpected {case.expect.absent & ids}"
    assert run.exit_code == (1 if report["blocking"] else 0)
    for finding in report["findings"]:
        assert finding["title"] and finding["explanation"]
        assert finding["fix"] or finding["no_fix_reason"], finding
    assert tree_digest(artifact) == before


@pytest.mark.parametrize("case_id", CASES)
def test_fix(corpus: Corpus, corpus_fixes: CorpusFixes, case_id: str, optional_report_page: ReportPage | None) -> None:
    """The session's run of ``repair fix`` on the case with its flags (tests/e2e/conftest.py: other files check the
    same run for their own facts)."""
    case = corpus.cases[case_id]
    run = corpus_fixes.fix(case_id)
    artifact, out, report_dir = run.artifact, run.out, run.report_dir
    assert run.digest_after == run.digest_before, "the input was modified"
    report = json.loads((report_dir / "report.json").read_text())
    assert run.exit_code == case.expect.fix_exit, f"{run.stdout}\n{run.stderr}\n{report['message']}"
    if optional_report_page is not None:  # report.html renders in headless Chromium, its picture drawn (~0.3 s)
        check_report_html(optional_report_page, report_dir / "report.html", f"corpus/{case_id}")
    applied = [f["rewrite"] for f in report["fixes"] if f["outcome"] == "applied"]
    assert list(case.expect.rewrites) == [r for r in applied if r in case.expect.rewrites]
    if case.expect.fix_exit != 0:
        assert not out.exists(), "a refused or unverified repair must not publish anything"
        assert report["message"]
        return
    assert all(check["ok"] for check in report["gate"])
    after_ops = set(report["after"]["tflite"]["ops"])
    assert not {op for op in after_ops if op.startswith(("FLEX:", "CUSTOM:"))}
    assert not (case.expect.absent_ops & after_ops), f"still has {case.expect.absent_ops & after_ops}"
    before_ops = (report["before"].get("tflite") or {}).get("ops", {})
    for op in case.expect.absent_ops & set(before_ops):
        assert report["op_delta"][op] == -before_ops[op]
    for name in ("saved_model.pb", "model.tflite", "report.md", "report.json"):
        assert (out / name).is_file(), name
    assert not [p for p in run.root.iterdir() if p.name.startswith(".repair-")], "scratch left behind"
    _independent_check(out, _targets(case.expect.fix_args))
    if "--quantize" in case.expect.fix_args:  # model.tflite is the quantized one: measured and read on its own terms
        from tests.e2e.test_quant_corpus import check_quantized

        check_quantized(out, case, corpus.case_dir(case_id), artifact)


def _targets(args: tuple[str, ...]) -> set[str]:
    """The --target values a case's fix runs with ("gpu", "micro", ...)."""
    values = [args[i + 1] for i, a in enumerate(args[:-1]) if a == "--target"]
    return {t.split("=")[0].strip() for v in values for t in v.split(",")}


def _independent_check(out: Path, targets: set[str] | None = None) -> None:
    """Do not trust the tool: reload, reconvert and rerun the published model ourselves."""
    import tensorflow as tf
    from ai_edge_litert.interpreter import Interpreter

    loaded = tf.saved_model.load(str(out), tags=["serve"])
    fn = loaded.signatures["serving_default"]
    blob = tf.lite.TFLiteConverter.from_saved_model(str(out)).convert()
    runner = Interpreter(model_content=blob).get_signature_runner("serving_default")
    rng = np.random.default_rng(1)
    feeds = {}
    for name, spec in fn.structured_input_signature[1].items():
        shape = [1 if d is None else d for d in spec.shape.as_list()]
        if spec.dtype == tf.string:
            size = int(np.prod(shape))
            feeds[name] = np.array([b"red", b"blue", b"unseen"] * size, dtype=object)[:size].reshape(shape)
        elif spec.dtype.is_integer:
            feeds[name] = rng.integers(0, 2, size=shape).astype(spec.dtype.as_numpy_dtype)
        else:
            feeds[name] = rng.standard_normal(shape).astype(spec.dtype.as_numpy_dtype)
    want = {k: v.numpy() for k, v in fn(**{k: tf.constant(v) for k, v in feeds.items()}).items()}
    got = runner(**feeds)
    assert set(got) == set(want)
    for key in want:
        if want[key].dtype.kind in "OSU":
            assert np.array_equal(got[key], want[key])
        else:
            np.testing.assert_allclose(got[key], want[key], atol=1e-5, rtol=1e-4)
    targets = targets or set()
    if "gpu" in targets:  # the GPU delegate wants static shapes everywhere: read the flatbuffer ourselves
        from ai_edge_litert import schema_py_generated as schema

        model = schema.ModelT.InitFromPackedBuf(blob, 0)
        dynamic = [t.name for sg in model.subgraphs for t in sg.tensors
                   if t.shapeSignature is not None and -1 in list(t.shapeSignature)]
        assert not dynamic, f"dynamic tensors left for the GPU delegate: {dynamic[:5]}"
    if "micro" in targets:  # the real TFLM interpreter runs it and agrees with TensorFlow
        from tflite_micro.python.tflite_micro import runtime

        micro = runtime.Interpreter.from_bytes(blob, arena_size=max(len(blob) * 10, 1 << 20))
        lite = Interpreter(model_content=blob)
        sig = lite.get_signature_runner("serving_default")
        # TFLM addresses inputs and outputs by their position in the subgraph; the signature maps names to tensors.
        in_pos = {d["index"]: i for i, d in enumerate(lite.get_input_details())}
        out_pos = {d["index"]: i for i, d in enumerate(lite.get_output_details())}
        for name, detail in sig.get_input_details().items():
            micro.set_input(feeds[name], in_pos[detail["index"]])
        micro.invoke()
        for name, detail in sig.get_output_details().items():
            np.testing.assert_allclose(micro.get_output(out_pos[detail["index"]]), want[name], atol=1e-5, rtol=1e-4)
