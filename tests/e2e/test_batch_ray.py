"""``repair batch --engine ray``: tests/e2e/test_batch.py's zoo of real corpus models through a real local Ray cluster.

One local cluster (2 CPUs) serves the module; the in-process CLI runs find it initialized and use it. One test runs
the CLI as a separate process so that the run starts and stops a cluster of its own, as a user's run does. The fast
tests need neither Ray nor TensorFlow: bad input, and that ``--help`` imports neither.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import repair.batch.ray as batch_ray
from repair.batch.local import BatchStatus, ModelOutcome
from tests.cli_helpers import repair
from tests.conftest import ROOT, Corpus, tree_stamps
from tests.e2e.conftest import LocalBatch
from tests.e2e.test_batch import BATCH_FILES, REPAIRS

EXPECTED = {"k3": "repaired", "train_tag": "repaired", "resize": "refused", "notamodel": "bad-input"}


def _summary(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "summary.json").read_text())


def _rows(out: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    return {m["name"]: m for m in _summary(out)["models"]}


def _statuses(out: Path) -> dict[str, str]:
    return {name: row["status"] for name, row in _rows(out).items()}


def _children_writing(target: Path) -> list[str]:
    """Command lines of live processes that name ``target`` (a `repair fix` child writing there)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "repair.cli fix" in cmdline and str(target) in cmdline:
            found.append(cmdline)
    return found


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[None]:
    """One local Ray cluster for the module, as `repair batch --engine ray` would start it on this 2-core machine."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[dev]')")
    ray.init(address="local", num_cpus=2, num_gpus=0, include_dashboard=False, log_to_driver=False,
             logging_level=logging.ERROR)
    yield
    ray.shutdown()


@pytest.fixture
def one_model(corpus: Corpus, tmp_path: Path) -> Path:
    zoo = tmp_path / "zoo1"
    zoo.mkdir()
    (zoo / "train_tag").symlink_to(corpus.artifact(REPAIRS["train_tag"]), target_is_directory=True)
    return zoo


def test_engine_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "m.keras").write_bytes(b"")
    out = tmp_path / "out"
    run = repair("batch", str(zoo), "--out", str(out), "--ray-address", "auto")
    assert run.exit_code == 2 and "--ray-address needs --engine ray" in run.stderr
    run = repair("batch", str(zoo), "--out", str(out), "--ray-cpus", "2")
    assert run.exit_code == 2 and "--ray-cpus needs --engine ray" in run.stderr
    run = repair("batch", str(zoo), "--out", str(out), "--engine", "spark")
    assert run.exit_code == 2 and "must be local or ray" in run.stderr
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as without the extra
    run = repair("batch", str(zoo), "--out", str(out), "--engine", "ray")
    assert run.exit_code == 2
    assert run.stderr.splitlines() == ["repair: --engine ray needs the ray extra: pip install 'repair[ray]'"]
    assert not out.exists()


def test_help_imports_neither_ray_nor_tensorflow() -> None:
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom repair.cli import app\n"
            "for args in ([], ['--help'], ['batch', '--help']):\n"
            "    assert CliRunner().invoke(app, args).exit_code in (0, 2), args\n"
            "print(sorted(m for m in ('ray', 'tensorflow') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert proc.stdout.strip() == "[]"


@pytest.mark.slow
def test_ray_matches_local_and_resumes(ray_cluster: None, local_batch: LocalBatch, tmp_path: Path) -> None:
    """The Ray engine's run of the zoo against the session's local run of it (tests/e2e/conftest.py)."""
    zoo, local, out = local_batch.zoo, local_batch.out, tmp_path / "ray"
    assert local_batch.exit_code == 1, local_batch.stderr
    run = repair("batch", str(zoo), "--out", str(out), "--engine", "ray")  # -j: the cluster's 2 CPUs
    assert run.exit_code == 1, run.stderr
    assert _statuses(out) == _statuses(local) == EXPECTED
    summary = _summary(out)
    assert summary["engine"] == "ray" and summary["jobs"] == 2 and summary["ran"] == 4
    assert "with -j 2 on ray" in run.stderr and "-j 2 on ray" in (out / "summary.md").read_text()
    for name, row in _rows(out).items():  # the same command: same exit codes, messages and recorded paths
        other = _rows(local)[name]
        assert (row["exit"], row["message"], row["path"]) == (other["exit"], other["message"], other["path"]), name
    for name in EXPECTED:
        assert (out / name).is_dir() == (name in REPAIRS), name
    for name in REPAIRS:
        assert (out / name / "saved_model.pb").is_file() and (out / name / "model.tflite").is_file()
        assert "verified" in (out / f"{name}.report" / "fix.log").read_text()
    assert not list(out.glob(".repair-*")) and not list(out.glob(".*.tmp"))
    state = json.loads((out / "batch-state.json").read_text())
    assert {n: m["status"] for n, m in state["models"].items()} == EXPECTED

    before = tree_stamps(out, skip=BATCH_FILES)
    again = repair("batch", str(zoo), "--out", str(out), "--engine", "ray")
    assert again.exit_code == 1 and _summary(out)["ran"] == 0 and _summary(out)["skipped"] == 4
    # a resumed batch must not rerun finished models: a rerun removes a model's folders and writes them anew
    assert tree_stamps(out, skip=BATCH_FILES) == before, "a resumed batch must not rerun finished models"
    assert _summary(out)["models"] == summary["models"]
    # the state is the same whichever engine wrote it: the local engine resumes a ray batch
    assert repair("batch", str(zoo), "--out", str(out)).exit_code == 1 and _summary(out)["ran"] == 0
    assert tree_stamps(out, skip=BATCH_FILES) == before

    retry = repair("batch", str(zoo), "--out", str(out), "--engine", "ray", "--retry-failed")
    assert retry.exit_code == 1
    assert _summary(out)["ran"] == 2 and _statuses(out) == EXPECTED
    assert _rows(out)["k3"] == summary["models"][0]  # a finished model is kept as it was
    after = tree_stamps(out, skip=BATCH_FILES)  # resize ran again (its log is new); the repaired models did not
    assert after["resize.report/fix.log"] != before["resize.report/fix.log"]
    assert {f: s for f, s in after.items() if not f.startswith("resize")} == {
        f: s for f, s in before.items() if not f.startswith("resize")}


@pytest.mark.slow
def test_ray_timeout_on_its_own_cluster(ray_cluster: None, one_model: Path, tmp_path: Path) -> None:
    """A separate process, as a user runs it: starts a local cluster, the Runner kills the child at --timeout."""
    out = tmp_path / "out"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    proc = subprocess.run([sys.executable, "-m", "repair.cli", "batch", str(one_model), "--out", str(out),
                           "--engine", "ray", "-j", "1", "--timeout", "1"],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "with -j 1 on ray" in proc.stderr
    row = _rows(out)["train_tag"]
    assert row["status"] == "timeout" and row["exit"] is None and row["message"] == "killed after 1s"
    assert not (out / "train_tag").exists() and not list(out.glob(".repair-*"))
    # the log of the killed child stays, and stops before the gate's verdict: killed at the timeout, not after it
    assert "verified" not in (out / "train_tag.report" / "fix.log").read_text()
    assert not _children_writing(out)
    # a timeout is not final: the next run (no timeout) redoes it, here on the module's cluster
    assert repair("batch", str(one_model), "--out", str(out), "--engine", "ray").exit_code == 0
    assert _statuses(out) == {"train_tag": "repaired"}
    assert "verified" in (out / "train_tag.report" / "fix.log").read_text()  # the word a finished run's log has


@pytest.mark.slow
def test_ray_cancel_backstop(ray_cluster: None, one_model: Path, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A task still out past --timeout + grace is cancelled; its Runner kills the child; the state has it at once."""
    monkeypatch.setattr(batch_ray, "TIMEOUT_GRACE", -59.0)  # cancel 1 s after the task started (--timeout 60)
    out = tmp_path / "out"
    seen: list[tuple[ModelOutcome, str, list[str]]] = []

    def done(outcome: ModelOutcome) -> None:
        state = json.loads((out / "batch-state.json").read_text())
        seen.append((outcome, state["models"][outcome.name]["status"], _children_writing(out)))

    result = batch_ray.run_batch_ray(one_model, out, ["--target", "tflite"], timeout=60, on_done=done)
    [(outcome, recorded, children)] = seen
    assert outcome.status is BatchStatus.TIMEOUT and recorded == "timeout" and outcome.exit is None
    # cancelled by the backstop (not killed by the Runner at --timeout 60, which says "killed after 60s"), and its
    # child killed before it finished: the log it leaves stops before the gate's verdict
    assert "cancelled, its child killed" in outcome.message
    assert "verified" not in (out / "train_tag.report" / "fix.log").read_text()
    assert children == [], "the cancelled task's child must be dead before the outcome is recorded"
    assert result.engine == "ray" and result.jobs == 2 and [o.status for o in result.outcomes] == [BatchStatus.TIMEOUT]
    assert not (out / "train_tag").exists() and not list(out.glob(".repair-*"))
