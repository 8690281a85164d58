"""The pipeline driven directly: scripted decisions, the report's structural facts, publishing rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from repair.core.decide import Decision, Proposal
from repair.core.errors import ExitCode
from repair.core.options import Options
from repair.fix.pipeline import run_fix
from repair.fix.result import FixOutcome, RunStatus
from repair.fix.rewrite import Catalog
from rewrites import CATALOG as MODEL_REWRITES
from tests.conftest import Corpus, tree_digest

CATALOG = Catalog(MODEL_REWRITES)  # the CLI's wiring, without the source catalog

pytestmark = pytest.mark.slow


def reject_all(proposal: Proposal) -> Decision:
    return Decision.REJECT


def test_rejected_fix_publishes_nothing(corpus: Corpus, tmp_path: Path) -> None:
    src = corpus.artifact("tags/train_tag")
    before = tree_digest(src)
    result = run_fix(src, tmp_path / "out", Options(), CATALOG, decider=reject_all, report_dir=tmp_path / "rep")
    assert result.exit_code is ExitCode.FINDINGS_REMAIN
    assert [(r.rewrite_id, r.outcome) for r in result.fixes] == [("retag_serve", FixOutcome.REJECTED)]
    assert "not accepted" in result.message
    assert not (tmp_path / "out").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]
    assert tree_digest(src) == before


def test_report_shows_the_silent_garbage_repair(corpus: Corpus, tmp_path: Path) -> None:
    result = run_fix(corpus.artifact("keras/keras3_saved_model_save"), tmp_path / "out", Options(convert_original=True), CATALOG)
    assert result.exit_code is ExitCode.OK
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    delta = report["op_delta"]
    assert delta["READ_VARIABLE"] == -4 and delta["VAR_HANDLE"] == -4 and delta["FULLY_CONNECTED"] == 2
    before = {f["id"] for f in report["before"]["findings"]}
    assert {"unbound-variables", "parity-mismatch"} <= before
    assert report["after"]["findings"] == []
    assert report["after"]["parity"]["ok"] and report["before"]["parity"]["ok"] is False
    assert [f["rewrite"] for f in report["fixes"]] == ["rebind_variables"]
    assert report["fixes"][0]["signature_before"] == report["fixes"][0]["signature_after"]
    assert all(check["ok"] for check in report["gate"])
    assert report["timings_s"]["total"] > 0
    md = (tmp_path / "out" / "report.md").read_text()
    for heading in ("## Findings before", "## Fixes", "## Verification gate", "## Parity per output", ".tflite op delta"):
        assert heading in md


def test_static_findings_decide_the_fix_without_converting_the_original(corpus: Corpus, tmp_path: Path) -> None:
    """The unbound variables are read off the protos: the original is never converted, the result is, once."""
    result = run_fix(corpus.artifact("keras/keras3_saved_model_save"), tmp_path / "out", Options(), CATALOG)
    assert result.exit_code is ExitCode.OK
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    before, after = report["before"], report["after"]
    assert before["static_only"] and "conversion" not in before and "parity" not in before
    assert [f["id"] for f in before["findings"]] == ["unbound-variables"]
    assert before["findings"][0]["source"] == "static"
    assert not after["static_only"] and after["conversion"]["ok"] and after["parity"]["ok"]
    assert "VAR_HANDLE" not in after["tflite"]["ops"] and report["op_delta"] == {}
    assert [f["rewrite"] for f in report["fixes"]] == ["rebind_variables"]
    assert all(check["ok"] for check in report["gate"])
    assert "was read, not converted" in (tmp_path / "out" / "report.md").read_text()


def test_declined_static_fix_still_gets_a_full_diagnosis(corpus: Corpus, tmp_path: Path) -> None:
    """Rejecting the static fix must not skip the conversion: the final diagnosis converts the model as it is."""
    result = run_fix(corpus.artifact("keras/keras3_saved_model_save"), tmp_path / "out", Options(), CATALOG,
                     decider=reject_all, report_dir=tmp_path / "rep")
    assert result.exit_code is ExitCode.FINDINGS_REMAIN
    assert result.original.static_only and result.final is not None and not result.final.static_only
    assert result.final.conversion is not None and result.final.conversion.ok
    assert {f.id for f in result.final.findings} >= {"unbound-variables", "parity-mismatch"}
    assert not (tmp_path / "out").exists()


def test_renamed_contract_in_report(corpus: Corpus, tmp_path: Path) -> None:
    options = Options(renames={"input_features": "features", "scores": "probabilities"})
    result = run_fix(corpus.artifact("serving/key_mismatch"), tmp_path / "out", options, CATALOG)
    assert result.exit_code is ExitCode.OK
    fix = result.fixes[-1]
    assert fix.rewrite_id == "rename_serving_keys"
    assert ("input", "input_features", "float32", "[?,4]") in fix.signature_before
    assert ("input", "features", "float32", "[?,4]") in fix.signature_after
    assert ("output", "probabilities", "float32", "[?,3]") in fix.signature_after
    assert result.final is not None and result.final.parity is not None
    assert [o.origin for o in result.final.parity.outputs] == ["scores"]


def test_a_failed_fix_for_a_warning_is_not_reported_as_success(corpus: Corpus, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Pruning wrappers are only a warning, but an accepted strip that crashes must not end as "nothing to fix"."""
    from rewrites.strip_pruning_wrappers import StripPruningWrappers

    def broken(*args: object, **kwargs: object) -> None:
        raise AttributeError("'_UserObject' object has no attribute 'mask'")  # what the depthwise bug raised

    monkeypatch.setattr(StripPruningWrappers, "apply", broken)
    src = corpus.artifact("pruning/unstripped")
    result = run_fix(src, tmp_path / "out", Options(), CATALOG, report_dir=tmp_path / "rep")
    assert result.exit_code is ExitCode.FINDINGS_REMAIN and result.status is RunStatus.REFUSED
    assert [(r.rewrite_id, r.outcome) for r in result.fixes] == [("strip_pruning_wrappers", FixOutcome.FAILED)]
    assert "strip_pruning_wrappers failed: AttributeError" in result.message and "decline this fix" in result.message
    assert not (tmp_path / "out").exists()

    def decline_strip(proposal: Proposal) -> Decision:
        return Decision.REJECT if proposal.rewrite_id == "strip_pruning_wrappers" else Decision.ACCEPT

    declined = run_fix(src, tmp_path / "out2", Options(), CATALOG, decider=decline_strip)
    assert declined.exit_code is ExitCode.OK and (tmp_path / "out2" / "saved_model.pb").is_file()


def test_each_saved_model_is_loaded_once(corpus: Corpus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The converter's own loads (from_saved_model's, convert()'s), parity's reference run and the gate's TensorFlow
    parity of the output all share one tf.saved_model.load per directory: counted by a spy around the real loader."""
    import tensorflow as tf
    from tensorflow.lite.python import lite

    real = tf.saved_model.load
    loads: dict[str, int] = {}

    def spy(export_dir: object, tags: object = None, options: object = None) -> object:
        key = str(Path(str(export_dir)).resolve())
        loads[key] = loads.get(key, 0) + 1
        return real(export_dir, tags, options)

    monkeypatch.setattr(tf.saved_model, "load", spy)
    monkeypatch.setattr(lite, "_load", spy)  # what TFLiteConverter.from_saved_model and convert() call
    from repair.model.working import forget

    src = corpus.artifact("keras/keras3_saved_model_save")
    forget(src)  # the load cache is per process: an earlier test of this session may have loaded the same corpus model
    result = run_fix(src, tmp_path / "out", Options(), CATALOG)
    assert result.exit_code is ExitCode.OK and result.tf_parity is not None and result.tf_parity.ok
    assert result.final is not None and result.final.conversion is not None and result.final.conversion.ok
    assert str(src.resolve()) in loads  # the reference: the original, run by TensorFlow
    assert len(loads) == 2, loads  # the original and the exported output: converted, run for parity, re-checked
    assert set(loads.values()) == {1}, loads
