"""--target gpu,xnnpack,micro,runtime=X.Y through the real CLI: the table, the exit codes, the gate and the reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli_helpers import Run, repair
from tests.conftest import Corpus

ALL = "gpu,xnnpack,micro,runtime=2.14"


@pytest.fixture(scope="module")
def fixed(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Run]:
    """targets/gpu_dynamic_batch repaired for every target at once (the batch pin is the only fix it needs)."""
    out = tmp_path_factory.mktemp("targets") / "fixed"
    run = repair("fix", str(corpus.artifact("targets/gpu_dynamic_batch")), "--out", str(out), "--target", ALL)
    return out, run


def test_fix_publishes_only_after_every_target_passed_on_the_output(fixed: tuple[Path, Run]) -> None:
    out, run = fixed
    assert run.exit_code == 0, run.stdout + run.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["target"] == "tflite,gpu,xnnpack,micro,runtime=2.14"
    gate = {c["check"]: c for c in report["gate"]}
    for name in ("target gpu", "target xnnpack", "target micro", "target runtime=2.14"):
        assert gate[name]["ok"], gate[name]
    after = {t["target"]: t for t in report["after"]["targets"]}
    assert after["gpu"]["delegated"] == after["gpu"]["total"] > 0
    assert after["micro"]["arena_bytes"] > 0 and after["micro"]["parity_max_abs_diff"] < 1e-5
    assert after["runtime=2.14"]["min_runtime"] and after["runtime=2.14"]["runtime_setters"]
    markdown = (out / "report.md").read_text()
    assert "## Deployment targets" in markdown and "| gpu | not converted (read statically) | pass |" in markdown


def test_diagnose_prints_one_row_per_target_and_exits_0_when_all_pass(fixed: tuple[Path, Run]) -> None:
    out, _ = fixed
    run = repair("diagnose", str(out), "--target", ALL)
    assert run.exit_code == 0, run.stdout
    rows = {line.split()[0]: line.split()[1] for line in run.stdout.splitlines()
            if line.strip() and line.split()[0] in ("gpu", "xnnpack", "micro", "runtime=2.14")}
    assert rows == {"gpu": "pass", "xnnpack": "pass", "micro": "pass", "runtime=2.14": "pass"}


def test_diagnose_exits_1_naming_the_refused_nodes_when_a_target_fails(corpus: Corpus) -> None:
    run = repair("diagnose", str(corpus.artifact("targets/gpu_dynamic_batch")), "--target", "gpu", "--json")
    assert run.exit_code == 1
    report = json.loads(run.stdout)
    (gpu,) = report["targets"]
    assert gpu["verdict"] == "FAIL" and gpu["offenders"]
    assert all(o["dynamic"] for o in gpu["offenders"])  # only the unknown batch: pin_dynamic_dims answers it
    finding = next(f for f in report["findings"] if f["id"] == "gpu-incompatible")
    assert finding["fix"] == "pin_dynamic_dims"


@pytest.mark.parametrize("args, needle", [
    (["--target", "gpus"], "unknown target 'gpus'"),
    (["--target", "runtime=latest"], "runtime=MAJOR.MINOR"),
    (["--target", "micro", "--accept-fallback", "micro"], "only gpu and xnnpack"),
])
def test_bad_target_flags_exit_2_with_one_line(corpus: Corpus, args: list[str], needle: str) -> None:
    run = repair("diagnose", str(corpus.artifact("targets/gpu_dynamic_batch")), *args)
    assert run.exit_code == 2
    assert needle in run.stderr and "Traceback" not in run.stderr
