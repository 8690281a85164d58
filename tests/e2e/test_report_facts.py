"""The facts report.json and report.md state are true of the world (issue 16, "Facts that are true").

Each run is the real ``repair fix`` on a small corpus case, once per module. The checks read the world, not the
tool's strings: the published paths exist and load, the published SavedModel's and .tflite's signatures are read back,
the parity inputs are regenerated from the reported seed, the |diff| quantiles are recomputed by running the original
and the published .tflite, the seconds are summed against the run's total.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from repair.core.tfenv import tf
from tests.cli_helpers import repair
from tests.conftest import Corpus
from tests.e2e.conftest import CorpusFixes

pytestmark = pytest.mark.slow

DEMO = "keras/keras3_saved_model_save"  # make demo's case: static-first, the original is never converted


@dataclass
class Fixed:
    src: Path
    out: Path
    report_dir: Path
    json: dict[str, Any]
    md: str
    out_json: dict[str, Any]
    out_md: str


def _fix(corpus: Corpus, root: Path, case: str, *flags: str) -> Fixed:
    src = corpus.artifact(case)
    out, report_dir = root / "fixed", root / "report"
    run = repair("fix", str(src), "--out", str(out), "--report", str(report_dir), *flags)
    assert run.exit_code == 0, run.stdout + run.stderr
    return _read(src, out, report_dir)


def _read(src: Path, out: Path, report_dir: Path) -> Fixed:
    return Fixed(src, out, report_dir, json.loads((report_dir / "report.json").read_text()),
                 (report_dir / "report.md").read_text(), json.loads((out / "report.json").read_text()),
                 (out / "report.md").read_text())


def _shared(corpus_fixes: CorpusFixes, case: str) -> Fixed:
    """The session's run of the case with its corpus flags (none for the two cases here): tests/e2e/conftest.py."""
    assert not corpus_fixes.corpus.cases[case].expect.fix_args, "the facts checked here are of a run without flags"
    run = corpus_fixes.fix(case)
    assert run.exit_code == 0, run.stdout + run.stderr
    return _read(run.artifact, run.out, run.report_dir)


@pytest.fixture(scope="module")
def demo(corpus_fixes: CorpusFixes) -> Fixed:
    return _shared(corpus_fixes, DEMO)


@pytest.fixture(scope="module")
def pinned(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Fixed:
    return _fix(corpus, tmp_path_factory.mktemp("pinned"), DEMO, "--pin", "inputs=1,4")


@pytest.fixture(scope="module")
def control(corpus_fixes: CorpusFixes) -> Fixed:
    """Nothing to fix: the input itself is verified and copied to --out."""
    return _shared(corpus_fixes, "keras/tf_keras_savedmodel")


def _texts(fixed: Fixed) -> list[str]:
    return [json.dumps(fixed.json), fixed.md, json.dumps(fixed.out_json), fixed.out_md]


def test_schema_version_is_a_whole_number_string(demo: Fixed) -> None:
    for report in (demo.json, demo.out_json):
        assert isinstance(report["schema_version"], str) and re.fullmatch(r"[1-9][0-9]*", report["schema_version"])


def test_models_are_the_input_and_the_published_out(demo: Fixed, pinned: Fixed, control: Fixed) -> None:
    for fixed in (demo, pinned, control):
        for report in (fixed.json, fixed.out_json):
            assert Path(report["input"]) == Path(report["before"]["model"]) == fixed.src
            assert Path(report["after"]["model"]) == Path(report["out"]) == fixed.out
        loaded = tf().saved_model.load(str(fixed.out))  # the published path is a SavedModel that serves
        assert "serving_default" in loaded.signatures
        assert (fixed.out / "model.tflite").stat().st_size == fixed.json["bytes"]["tflite_after"]
        assert f"output: `{fixed.out}`" in fixed.md


def test_no_scratch_path_in_any_report(demo: Fixed, pinned: Fixed, control: Fixed) -> None:
    for fixed in (demo, pinned, control):
        scratch = re.compile(r"\.repair-|repair-fixed-|/\d\d-(export|final)|scratch/")
        for text in _texts(fixed):
            assert not scratch.search(text), scratch.search(text)
        beside = [p.name for p in fixed.out.parent.iterdir()]
        assert not [n for n in beside if n.startswith(".repair-")], beside  # and the scratch itself is gone


def _regenerated(report: dict[str, Any]) -> dict[str, np.ndarray]:
    """The parity inputs rebuilt from what the report says: the seed and the generation rule (NumPy's PCG64)."""
    desc = report["parity_inputs"]
    rng = np.random.default_rng(desc["seed"])
    feeds = {}
    for row in desc["inputs"]:
        assert row["drawn"] == "standard normal" and row["dtype"] == "float32"
        feeds[row["name"]] = rng.standard_normal(size=row["shape"]).astype(np.float32)
    return feeds


def test_parity_inputs_are_what_the_report_says(demo: Fixed, pinned: Fixed) -> None:
    for fixed in (demo, pinned):
        desc = fixed.json["parity_inputs"]
        assert desc["source"] == "generated" and desc["seed"] == 0 and desc["sample_file"] is None
        assert desc["batches"] == 1
        feeds = _regenerated(fixed.json)
        for row in desc["inputs"]:
            value = feeds[row["name"]]
            assert desc["batch_size"] == value.shape[0]
            assert row["min"] == pytest.approx(float(value.min())) and row["max"] == pytest.approx(float(value.max()))
            assert f"{row['max']:.4g}" in fixed.md  # report.md states the same range
        assert "generated from seed 0" in fixed.md
    assert pinned.json["parity_inputs"]["batch_size"] == 1  # the pinned batch, not --batch's 2


def test_abs_diff_quantiles_match_a_rerun(demo: Fixed) -> None:
    """Run the original (TensorFlow, its own loader) and the published .tflite on the regenerated inputs: the
    reported |diff| distribution is the one measured here."""
    from ai_edge_litert.interpreter import Interpreter

    feeds = _regenerated(demo.json)
    expected = tf().saved_model.load(str(demo.src)).signatures["serving_default"](
        **{k: tf().constant(v) for k, v in feeds.items()})
    runner = Interpreter(model_path=str(demo.out / "model.tflite")).get_signature_runner("serving_default")
    got = runner(**feeds)
    for row in demo.json["after"]["parity"]["outputs"]:
        diff = np.abs(np.asarray(expected[row["origin"]], np.float64) - np.asarray(got[row["name"]], np.float64))
        q = row["abs_diff_quantiles"]
        assert q["max"] == pytest.approx(float(diff.max()), abs=1e-9) == pytest.approx(row["max_abs_diff"], abs=1e-12)
        assert q["p50"] == pytest.approx(float(np.percentile(diff, 50)), abs=1e-9)
        assert q["p50"] <= q["p90"] <= q["p99"] <= q["max"]
        assert q["max"] <= demo.json["after"]["parity"]["atol"] + demo.json["after"]["parity"]["rtol"] * 1e3


def test_reference_says_how_the_original_was_run(demo: Fixed) -> None:
    run = demo.json["reference_run"]
    assert "tf.saved_model.load" in run["loader"] and run["entry"] == "signature 'serving_default'"
    assert Path(run["model"]) == demo.src
    assert "Keras" in run["note"]  # a Keras 3 model's rebind: the reference computes with the Keras model's weights
    assert demo.json["reference"] in demo.md.replace("\\", "")


def test_each_fix_has_its_own_seconds_that_add_up(demo: Fixed, pinned: Fixed) -> None:
    for fixed in (demo, pinned):
        report, total = fixed.json, fixed.json["timings_s"]["total"]
        fixes = [f for f in report["fixes"] if f["outcome"] == "applied"]
        assert fixes
        exports = {}
        for f in fixes:
            assert f["ran"] and f["seconds"] > 0 and f["apply_seconds"] > 0
            assert f["seconds"] == pytest.approx(f["apply_seconds"] + f["export_seconds"], rel=0.01)
            exports[tuple(sorted([f["rewrite"], *f["exported_with"]]))] = f["export_seconds"]
        # each export counted once, with every fix's own apply time: inside the run's stage time and its total
        assert sum(exports.values()) == pytest.approx(report["timings_s"]["export"], rel=0.01, abs=0.002)
        assert sum(f["apply_seconds"] for f in fixes) + sum(exports.values()) <= total
    pin_fix = next(f for f in pinned.json["fixes"] if f["rewrite"] == "pin_dynamic_dims")
    assert pin_fix["exported_with"] == ["rebind_variables"]  # one export wrote both fixes
    assert "Seconds:" in pinned.md and "exporting the SavedModel, one export shared with" in pinned.md


def test_why_each_fix_ran(demo: Fixed, pinned: Fixed) -> None:
    [rebind] = demo.json["fixes"]
    assert rebind["why"] == "safe: applied by default"
    pin_fix = next(f for f in pinned.json["fixes"] if f["rewrite"] == "pin_dynamic_dims")
    assert pin_fix["safety"] == "unsafe" and "consented by --pin" in pin_fix["why"]
    assert "--rename" not in pin_fix["why"]  # the flag that consented, not the list of every flag
    assert "Why it ran: unsafe: consented by --pin" in pinned.md


def test_pinned_batch_shows_in_the_output_shapes(pinned: Fixed) -> None:
    """The signature table's output shapes are the published model's, read back from its SavedModel and .tflite."""
    from ai_edge_litert.interpreter import Interpreter

    loaded = tf().saved_model.load(str(pinned.out)).signatures["serving_default"]
    saved = {k: "[" + ",".join("?" if d is None else str(d) for d in v.shape.as_list()) + "]"
             for k, v in loaded.structured_outputs.items()}
    lite = Interpreter(model_path=str(pinned.out / "model.tflite")).get_signature_runner("serving_default")
    lite_shapes = {k: "[" + ",".join(str(d) for d in v["shape_signature"]) + "]" for k, v in lite.get_output_details().items()}
    pin_fix = next(f for f in pinned.json["fixes"] if f["rewrite"] == "pin_dynamic_dims")
    outputs = {row[1]: row[3] for row in pin_fix["signature_after"] if row[0] == "output"}
    assert outputs == saved == lite_shapes == {"output_0": "[1,2]"}
    assert "| output | `output_0` float32 \\[?,2\\] | `output_0` float32 \\[1,2\\] |" in pinned.md
    assert "outputs output\\_0 [1, 2]" in pinned.md


def test_demo_report_shows_the_failure_it_fixes(demo: Fixed) -> None:
    """Static-first: the original is never converted, so its failure is stated from the protos, with the evidence's
    real count, and every 'not converted' says why and how to convert it."""
    [finding] = [f for f in demo.json["before"]["findings"] if f["id"] == "unbound-variables"]
    names = finding["evidence"].split(": ", 1)[1].split(", ")
    # The world: the graph's variable handles, and the values its checkpoint restores. The named variables are
    # handles in the graph, and there are exactly that many more handles than restored values.
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel.FromString((demo.src / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    nodes = [*graph.node, *(n for f in graph.library.function for n in f.node_def)]
    handles = {n.attr["shared_name"].s.decode() for n in nodes if n.op == "VarHandleOp"}
    restored = [k for k, _ in tf().train.list_variables(str(demo.src / "variables" / "variables"))
                if k.endswith("VARIABLE_VALUE")]
    assert set(names) <= handles and len(handles) - len(restored) == len(names) == 4
    assert f"the {len(names)} the signature reads" in finding["explanation"]
    assert "What the protos show" in demo.md and "outputs garbage" in demo.md
    assert demo.md.replace("\\_", "_").count(finding["evidence"]) >= 2  # the words, and the evidence section
    assert demo.json["before"]["static_only"] and "--convert-original" in demo.json["before"]["not_converted"]
    assert "n/a (did not convert)" not in demo.md
    sizes = next(line for line in demo.md.splitlines() if line.startswith("- .tflite bytes:"))
    assert "not converted" in sizes and "--convert-original" in sizes


@pytest.fixture(scope="module")
def rejected(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """tags/train_tag with its one fix rejected in a plan file: the refused run's report."""
    root = tmp_path_factory.mktemp("rejected")
    src = corpus.artifact("tags/train_tag")
    plan = root / "plan.json"
    run = repair("fix", str(src), "--plan-out", str(plan))
    assert run.exit_code == 0, run.stdout + run.stderr
    body = json.loads(plan.read_text())
    for entry in body["fixes"]:
        entry["decision"] = "reject"
    plan.write_text(json.dumps(body))
    run = repair("fix", str(src), "--plan-in", str(plan), "--out", str(root / "out"), "--report", str(root / "rep"))
    assert run.exit_code == 1, run.stdout + run.stderr
    assert not (root / "out").exists()
    report: dict[str, Any] = json.loads((root / "rep" / "report.json").read_text())
    report["_md"] = (root / "rep" / "report.md").read_text()
    return report


def test_a_rejected_fix_says_why_not_and_did_not_run(rejected: dict[str, Any]) -> None:
    [fix] = rejected["fixes"]
    assert fix["outcome"] == "rejected" and fix["why"] == "not accepted: rejected in the plan file"
    assert fix["ran"] is False and fix["seconds"] == 0.0
    assert rejected["after"]["model"] is None and rejected["out"] is None  # nothing was published
    assert not re.search(r"\.repair-", json.dumps(rejected) + rejected["_md"])
    assert "Why it did not run: not accepted: rejected in the plan file." in rejected["_md"]
