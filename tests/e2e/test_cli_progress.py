"""One real ``repair fix`` and one real ``repair diagnose`` on a tiny corpus case (serving/key_mismatch, a TF1
SavedModel of one dense layer): progress lines on stderr, the closing lines on stdout, and no TensorFlow start-up
line anywhere; and the --input-keys count refusal answered from the protos before TensorFlow loads, with the exit code
and facts of the refusal the full run reaches.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from repair.core.errors import ExitCode
from tests.conftest import Corpus

ENTRY = "import sys; from repair.supervise import main; sys.argv[0] = 'repair'; main()"
PROGRESS = re.compile(r"\[ *(\d+\.\d)s\] (.+)")
# What TensorFlow, XLA, absl and CUDA print while starting when nothing silences them.
TF_NOISE = re.compile(r"oneDNN|cuda|cuDNN|cuBLAS|absl::InitializeLog|TF_ENABLE_ONEDNN_OPTS|cpu_feature_guard|"
                      r"This TensorFlow binary|^[IWE]\d{4} ", re.I | re.M)


def repair(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``repair ARGS`` through the real entry point; stdout and stderr are pipes (not a terminal)."""
    return subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, timeout=600,
                          env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def model(corpus: Corpus) -> Path:
    return corpus.artifact("serving/key_mismatch")


@pytest.fixture(scope="module")
def fixed(model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("cli_progress") / "fixed"
    return out, repair("fix", str(model), "--out", str(out), "--rename", "input_features=features")


def test_fix_progress_lines_on_stderr_and_nothing_else(fixed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    _, run = fixed
    assert run.returncode == ExitCode.OK, run.stdout + run.stderr
    assert not TF_NOISE.search(run.stderr), run.stderr
    lines = run.stderr.splitlines()
    matches = [PROGRESS.fullmatch(x) for x in lines]
    assert all(matches), [x for x, m in zip(lines, matches) if not m]  # only progress lines: one per stage, no spinner
    stages = [m.group(2) for m in matches if m]
    seconds = [float(m.group(1)) for m in matches if m]
    assert seconds == sorted(seconds)
    assert stages[0] == "loading TensorFlow, reading the model"
    for stage in ("applying rename_serving_keys", "exporting the repaired SavedModel",
                  "diagnosing the repaired model: converting, running the .tflite, checking parity",
                  "writing model.tflite and the reports"):
        assert stage in stages, (stage, stages)


def test_fix_closing_lines_say_what_was_written_where(fixed: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    out, run = fixed
    lines = run.stdout.splitlines()
    head = next(i for i, x in enumerate(lines) if x.startswith(f"wrote {out} in "))
    listed = [x.split()[0] for x in lines[head + 1:]]
    assert listed[0] == str(out)
    for name in ("model.tflite", "report.md", "report.json"):
        assert str(out / name) in listed, (name, listed)
    assert all(Path(p).exists() for p in listed)
    assert "repaired with 1 fix" in run.stdout
    assert json.loads((out / "report.json").read_text())  # a report that parses, where the line says


def test_diagnose_quiet_prints_nothing_on_stderr(model: Path) -> None:
    run = repair("diagnose", str(model), "--quiet", "--json")
    assert run.returncode == ExitCode.OK, run.stderr
    assert run.stderr == ""  # no progress (--quiet) and no TensorFlow start-up line
    assert json.loads(run.stdout)["blocking"] == 0


def test_input_keys_count_refused_before_tensorflow_like_the_full_run(model: Path, tmp_path: Path) -> None:
    early = repair("fix", str(model), "--out", str(tmp_path / "out"), "--input-keys", "a,b,c",
                   env={"PYTHONPROFILEIMPORTTIME": "1"})
    said = [x for x in early.stderr.splitlines() if not x.startswith("import time:")]
    assert early.returncode == ExitCode.FINDINGS_REMAIN, early.stderr[-2000:]
    assert said == ["repair: cannot repair: serving-key-mismatch: the model has 1 input (input_features) but 3 keys "
                    "were asked for; use --rename old=new"]
    assert not any(re.search(r"\|\s+tensorflow(\.|$)", x) for x in early.stderr.splitlines())
    # --report asks for the report of the refusal: then the full run makes it, and ends the same way.
    full = repair("fix", str(model), "--out", str(tmp_path / "out"), "--input-keys", "a,b,c", "--report",
                  str(tmp_path / "report"), "--quiet")
    assert full.returncode == early.returncode
    assert re.search(r"cannot repair: serving-key-mismatch: the model has 1 input \(input_features\) but 3 keys "
                     r"were asked for; use --rename old=new", full.stdout), full.stdout
    assert not (tmp_path / "out").exists()
