"""A converter that kills the process is a finding, not a crash of the tool (repair/supervise.py).

The real CLI runs as users run it (the `repair` entry point: a supervisor process and a child that imports
TensorFlow). The crash is real too: while the child is inside a real conversion (its breadcrumb says so), the
test kills it with SIGSEGV, which is what the MLIR converter does to the process on some GRU graphs (and
SIGABRT after 'LLVM ERROR: Failed to infer result type(s)').
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Corpus, tree_digest

pytestmark = pytest.mark.slow
REPAIR = [sys.executable, "-c", "from repair.supervise import main; main()"]


def _run_and_crash(args: list[str], tmp_path: Path, sig: signal.Signals) -> subprocess.CompletedProcess[str]:
    """Start `repair ARGS`, kill the child with ``sig`` in its first conversion, and wait for the whole run."""
    env = dict(os.environ, TMPDIR=str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen([*REPAIR, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    killed = False
    while not killed and time.monotonic() < deadline and proc.poll() is None:
        for crumb in (tmp_path / "tmp").glob("repair-supervise-*/current.json"):
            try:
                data = json.loads(crumb.read_text())
            except (OSError, ValueError):
                continue  # being written or just removed
            if data.get("stage") == "convert":
                os.kill(int(data["pid"]), sig)
                killed = True
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=600)
    assert killed, f"never saw a conversion start:\n{stdout}\n{stderr}"
    return subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)


def test_fix_refuses_with_the_crash_as_a_finding(corpus: Corpus, tmp_path: Path) -> None:
    artifact = corpus.artifact("ops/flex_roll")
    before = tree_digest(artifact)
    out, report = tmp_path / "fixed", tmp_path / "report"
    run = _run_and_crash(["fix", str(artifact), "--out", str(out), "--report", str(report)], tmp_path, signal.SIGSEGV)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "crashed the process (SIGSEGV)" in run.stderr and "Traceback" not in run.stderr
    assert not out.exists(), "a crashed run must publish nothing"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".repair-")], "scratch left behind"
    assert not list((tmp_path / "tmp").iterdir()), "the supervisor's or the child's temporary files were left behind"
    data = json.loads((report / "report.json").read_text())
    crash = [f for f in data["before"]["findings"] if f["id"] == "converter-crash"]
    assert crash and crash[0]["severity"] == "error" and crash[0]["no_fix_reason"]
    assert "SIGSEGV" in crash[0]["evidence"]
    assert tree_digest(artifact) == before


def test_diagnose_reports_the_crash(corpus: Corpus, tmp_path: Path) -> None:
    artifact = corpus.artifact("ops/flex_roll")
    run = _run_and_crash(["diagnose", str(artifact), "--json"], tmp_path, signal.SIGABRT)
    assert run.returncode == 1, run.stderr
    findings = {f["id"]: f for f in json.loads(run.stdout)["findings"]}
    assert "converter-crash" in findings
    assert "SIGABRT" in findings["converter-crash"]["title"]


def test_the_normal_path_runs_one_child_and_no_tensorflow_in_the_parent(corpus: Corpus, tmp_path: Path) -> None:
    code = ("import sys; from repair.supervise import supervise; "
            "code = supervise(sys.argv[1:]); print('tensorflow' in sys.modules, code)")
    proc = subprocess.run([sys.executable, "-c", code, "diagnose", str(corpus.artifact("tags/train_tag"))],
                          capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "False 1", proc.stdout + proc.stderr
