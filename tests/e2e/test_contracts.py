"""What the user asked for is what happens: pins are a contract, diagnose never over-promises and hands over
every flag, and the gate re-detects on the output every defect a fix claimed to remove (issue 10, 2/4/7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import repair
from tests.conftest import Corpus
from tests.e2e.conftest import CorpusFixes


def test_pin_contradicting_a_static_dim_is_bad_input_for_diagnose_too(corpus: Corpus) -> None:
    run = repair("diagnose", str(corpus.artifact("shapes/dynamic_image")), "--pin", "image=2,5")
    assert run.exit_code == 2
    assert "rank 2 given" in run.stderr and "Traceback" not in run.stderr


def test_diagnose_next_command_carries_every_flag(corpus: Corpus) -> None:
    artifact = corpus.artifact("shapes/dynamic_image")
    run = repair("diagnose", str(artifact), "--pin", "image=1,32,32,3", "--seed", "3", "--target", "serving")
    assert run.exit_code == 1, run.stdout
    line = next(line for line in run.stdout.splitlines() if "next:" in line)
    assert "--pin image=1,32,32,3" in line and "--seed 3" in line and "--target serving" in line


@pytest.mark.slow
def test_a_pin_on_a_model_that_converts_anyway_is_applied_and_reported(corpus_fixes: CorpusFixes) -> None:
    """The session's `repair fix` of the case with its corpus flags (tests/e2e/conftest.py): --pin frames=1,16,8."""
    assert corpus_fixes.corpus.cases["shapes/pin_batch_only"].expect.fix_args == ("--pin", "frames=1,16,8")
    run = corpus_fixes.fix("shapes/pin_batch_only")
    out = run.out
    assert run.exit_code == 0, run.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["after"]["tflite"]["signatures"]["serving_default"]["inputs"]["frames"] == [1, 16, 8]
    pin = next(f for f in report["fixes"] if f["rewrite"] == "pin_dynamic_dims")
    assert pin["outcome"] == "applied" and "[1,16,8]" in pin["summary"] and "consent" in pin["why"]


@pytest.mark.slow
def test_a_pin_may_name_the_key_a_rename_gives(corpus: Corpus, tmp_path: Path) -> None:
    out = tmp_path / "o"
    run = repair("fix", str(corpus.artifact("serving/key_mismatch")), "--out", str(out),
                 "--rename", "input_features=features", "--pin", "features=1,4")
    assert run.exit_code == 0, run.stdout + run.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["after"]["tflite"]["signatures"]["serving_default"]["inputs"] == {"features": [1, 4]}


@pytest.mark.slow
def test_diagnose_announces_no_fix_that_declines(corpus: Corpus) -> None:
    run = repair("diagnose", str(corpus.artifact("loops/data_dependent_loop")), "--json")
    loop = next(f for f in json.loads(run.stdout)["findings"] if f["id"] == "while-loop")
    assert loop["fix"] is None
    assert "unroll_static_loops was tried on this model and declined" in loop["no_fix_reason"]
    assert "depends on the input" in loop["no_fix_reason"]


@pytest.mark.slow
def test_random_ops_in_serving_are_named(corpus: Corpus) -> None:
    run = repair("diagnose", str(corpus.artifact("ops/keras_dropout_training")), "--json")
    found = {f["id"]: f for f in json.loads(run.stdout)["findings"]}
    assert "Serving is stochastic" in found["nondeterministic-outputs"]["title"]
    assert "StatelessRandom" in found["nondeterministic-outputs"]["title"]
    assert "needs-flex-ops" not in found


def test_the_gate_refuses_a_claimed_defect_still_in_the_output(corpus: Corpus) -> None:
    from repair.core.findings import Finding, FindingKind, Severity, Source
    from repair.fix.diagnose import Diagnosis
    from repair.fix.pipeline import _gate, open_model

    model = open_model(corpus.artifact("tags/train_tag"))
    left = Finding(FindingKind.PRUNING_WRAPPERS, Severity.WARNING, Source.STATIC, "pruning left", "still there")
    final = Diagnosis(model, [left])
    checks = {c.name: c for c in _gate(final, None, {"strip_pruning_wrappers": {"pruning-wrappers"}})}
    check = checks["fixed defects are gone from the output"]
    assert not check.ok and "pruning-wrappers (after strip_pruning_wrappers)" in check.detail
    assert _gate(final, None, {"retag_serve": {"tag-set-not-serve"}})[-1].ok
