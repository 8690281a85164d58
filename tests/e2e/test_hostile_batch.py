"""Hostile probes of ``repair batch``: signals, a dead driver, a resume after either, hostile zoo names, Ray.

Every probe runs the real entry point in a fresh process (tests/hostile.py) and signals the driver only, as
``kill PID`` does. The zoo models are corpus cases (tests/e2e/test_batch.py's), built once per session.

- SIGTERM of a batch mid-run: the running ``repair fix`` child dies with the driver, the driver exits 143 with
  one line, the state file is valid and holds only what finished; an immediate resume redoes the killed model
  and keeps the finished one.
- SIGINT and SIGHUP: the same, exit 130 and 129.
- kill -9 of the driver: its child dies too (PR_SET_PDEATHSIG); the resume redoes the model.
- A resume after a driver died between a child's publish and its record adopts the published model from its
  report.json (status, exit, message as the child wrote them), never guessing.
- A zoo entry named with ANSI escapes, rich markup, ``|`` and ``<script>``: summary.md's table keeps its columns
  and nothing raw reaches the terminal.
- Ray (slow): the local cluster the tool starts listens on loopback only and runs with token authentication;
  a force-cancelled task's worker dies and the ``repair fix`` child with it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Corpus, tree_digest, tree_stamps
from tests.hostile import assert_clean, processes_with, run, start, wait_gone

TRAIN_TAG = "tags/train_tag"
K3 = "keras/keras3_saved_model_save"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _fix_children(token: str) -> list[int]:
    """Live ``repair fix`` children of the run carrying ``token``."""
    return [pid for pid in processes_with(token) if "repair.cli fix" in _cmdline(pid)]


def _wait_for(condition, seconds: float = 120.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _state(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "batch-state.json").read_text())


def _statuses(out: Path) -> dict[str, str]:
    return {name: row["status"] for name, row in _state(out)["models"].items()}


def _link(corpus: Corpus, zoo: Path, name: str, case_id: str) -> None:
    artifact = corpus.artifact(case_id)
    (zoo / name).symlink_to(artifact.parent if case_id == K3 else artifact, target_is_directory=True)


@pytest.fixture(scope="module")
def zoo2(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two repairable models: a (train_tag) runs first, b (k3) second."""
    zoo = tmp_path_factory.mktemp("hostile-batch") / "zoo2"
    zoo.mkdir()
    _link(corpus, zoo, "a", TRAIN_TAG)
    _link(corpus, zoo, "b", K3)
    return zoo


@pytest.fixture(scope="module")
def zoo1(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Path:
    zoo = tmp_path_factory.mktemp("hostile-batch") / "zoo1"
    zoo.mkdir()
    _link(corpus, zoo, "a", TRAIN_TAG)
    return zoo


def _stop(proc: subprocess.Popen[str], token: str, how: signal.Signals) -> tuple[int, str, str]:
    """Send ``how`` to the driver only (as `kill PID` does) and collect what it printed."""
    os.kill(proc.pid, how)
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout, stderr


def _one_repair_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.startswith("repair:")]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr, stderr
    return lines[0]


@pytest.mark.slow
def test_sigterm_mid_batch_then_resume(zoo2: Path, tmp_path: Path) -> None:
    """Probe: SIGTERM to the driver while b's child runs (a finished). Expected: exit 143, one line, no process
    of the run left, the state valid with a repaired and b absent, no OUT/b; a resume redoes b only."""
    out = tmp_path / "out"
    digest = tree_digest(zoo2)
    proc, token = start("batch", zoo2, "--out", out, "-j", "1")

    def b_running() -> bool:
        assert proc.poll() is None, f"the batch ended before b's child was seen:\n{proc.communicate()}"
        return ((out / "batch-state.json").is_file() and "a" in _statuses(out)
                and (out / "b.report" / "fix.log").is_file() and bool(_fix_children(token)))

    _wait_for(b_running, seconds=300, what="b's child")
    code, _, stderr = _stop(proc, token, signal.SIGTERM)
    leftovers = wait_gone(token, 5)
    assert not leftovers, f"processes left running after SIGTERM: {leftovers}\n{stderr}"
    assert code == 128 + signal.SIGTERM, stderr
    line = _one_repair_line(stderr)
    assert "SIGTERM" in line and "resume" in line, line
    assert _statuses(out) == {"a": "repaired"}
    assert not (out / "b").exists() and not list(out.glob(".repair-*")) and not list(out.glob(".*.tmp"))
    assert (out / "a" / "model.tflite").is_file()

    again = run("batch", zoo2, "--out", out, "-j", "1")
    assert_clean(again, code=0, input_path=zoo2, digest=digest)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ran"] == 1 and summary["skipped"] == 1
    assert _statuses(out) == {"a": "repaired", "b": "repaired"}
    for name in ("a", "b"):
        report = json.loads((out / f"{name}.report" / "report.json").read_text())
        assert report["status"] == "repaired" and report["exit_code"] == 0
        assert (out / name / "saved_model.pb").is_file() and (out / name / "model.tflite").is_file()


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGHUP])
def test_sigint_sighup_take_the_child_down(zoo1: Path, tmp_path: Path, how: signal.Signals) -> None:
    """Probe: SIGINT / SIGHUP to the driver as soon as its child runs. Expected: exit 128+N, one line, no process
    of the run left, a valid state with nothing recorded, no OUT/a."""
    out = tmp_path / "out"
    proc, token = start("batch", zoo1, "--out", out)
    _wait_for(lambda: bool(_fix_children(token)), what="the fix child")
    code, _, stderr = _stop(proc, token, how)
    assert not wait_gone(token, 5), f"processes left running after {how.name}\n{stderr}"
    assert code == 128 + how, stderr
    assert how.name in _one_repair_line(stderr)
    assert _state(out)["models"] == {}
    assert not (out / "a").exists() and not list(out.glob(".repair-*"))


@pytest.mark.slow
def test_kill9_driver_then_resume(zoo1: Path, tmp_path: Path) -> None:
    """Probe: kill -9 of the driver while its child runs. Expected: the child dies with it (no orphan writing
    into OUT); an immediate resume redoes the model and records it repaired."""
    out = tmp_path / "out"
    proc, token = start("batch", zoo1, "--out", out)
    _wait_for(lambda: bool(_fix_children(token)), what="the fix child")
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert not wait_gone(token, 5), "the repair fix child outlived its killed driver"
    json.loads((out / "batch-state.json").read_text())  # valid JSON whatever moment the driver died at
    again = run("batch", zoo1, "--out", out)
    assert_clean(again, code=0)
    assert _statuses(out) == {"a": "repaired"}
    assert json.loads((out / "summary.json").read_text())["ran"] == 1


@pytest.mark.slow
def test_resume_adopts_a_published_model_from_its_report(zoo1: Path, tmp_path: Path) -> None:
    """Probe: the driver died after a's child published OUT/a but before it recorded a (the state says a was
    running). Expected: the resume records a from its report.json without running it again; with the output
    gone (incomplete) it redoes a instead."""
    out = tmp_path / "out"
    assert_clean(run("batch", zoo1, "--out", out), code=0)
    recorded = _state(out)["models"]["a"]
    report = json.loads((out / "a.report" / "report.json").read_text())
    state = _state(out)
    state["models"] = {}
    state["running"] = ["a"]
    (out / "batch-state.json").write_text(json.dumps(state))
    published = tree_stamps(out, skip=("batch-state.json", "summary.json", "summary.md"))
    again = run("batch", zoo1, "--out", out)
    assert_clean(again, code=0)
    row = _state(out)["models"]["a"]
    assert json.loads((out / "summary.json").read_text())["ran"] == 0
    # not run again: a rerun removes OUT/a and OUT/a.report and writes them anew
    assert tree_stamps(out, skip=("batch-state.json", "summary.json", "summary.md")) == published
    assert (row["status"], row["exit"], row["message"]) == (report["status"], 0, report["message"])
    assert row["status"] == recorded["status"] == "repaired"

    state["models"], state["running"] = {}, ["a"]
    (out / "batch-state.json").write_text(json.dumps(state))
    (out / "a" / "model.tflite").unlink()  # not what a publish leaves: incomplete, so redone
    redo = run("batch", zoo1, "--out", out)
    assert_clean(redo, code=0)
    assert json.loads((out / "summary.json").read_text())["ran"] == 1 and _statuses(out) == {"a": "repaired"}
    assert (out / "a" / "model.tflite").is_file()


HOSTILE_NAME = "evil|\x1b[2J\x1b]8;;http:x\x07[bold red]boom<script>alert(1)<img src=x onerror=alert(1)>"  # no '/'


def test_hostile_zoo_names(tmp_path: Path) -> None:
    """Probe: a zoo folder whose name holds ANSI/OSC escapes, rich markup, `|` and `<script>` (not a model, so
    nothing runs). Expected: exit 1, no ESC on stdout or stderr, the summary.md row has its five cells and no
    raw tag; summary.json keeps the name verbatim."""
    zoo = tmp_path / "zoo"
    (zoo / HOSTILE_NAME).mkdir(parents=True)
    out = tmp_path / "out"
    probe = run("batch", zoo, "--out", out)
    assert probe.exit_code == 1, probe.show()
    assert "Traceback" not in probe.stderr
    assert "\x1b" not in probe.stdout and "\x1b" not in probe.stderr and "\x07" not in probe.stderr, probe.show()
    assert "evil" in probe.stderr
    md = (out / "summary.md").read_text()
    assert "\x1b" not in md and "<script>" not in md and "<img" not in md
    rows = [line for line in md.splitlines() if "evil" in line]
    assert len(rows) == 1
    cells = re.split(r"(?<!\\)\|", rows[0])
    assert len(cells) == 7 and cells[2].strip() == "bad-input", rows[0]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["models"][0]["name"] == HOSTILE_NAME


# --- Ray -----------------------------------------------------------------------------------------------------


def _descendants(root: int) -> set[int]:
    """``root`` and every live process below it (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in found:
                found.add(child)
                frontier.append(child)
    return found


def _listening(pids: set[int]) -> list[tuple[str, str]]:
    """(process name, local address:port) of every listening TCP socket of ``pids``, read with `ss -ltnpH`."""
    rows = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout.splitlines()
    found = []
    for row in rows:
        owners = [(name, int(pid)) for name, pid in re.findall(r'\("([^"]*)",pid=(\d+)', row)]
        if any(pid in pids for _, pid in owners):
            found.append((owners[0][0], row.split()[3]))
    return found


def _loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    return host in ("127.0.0.1", "::1", "::ffff:127.0.0.1") or host.startswith("127.")


@pytest.fixture(scope="module")
def tool_cluster() -> Iterator[object]:
    """The local cluster `repair batch --engine ray` starts (repair.batch.ray's own connect), once per module."""
    ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -e '.[dev]')")
    import repair.batch.ray as batch_ray

    assert not ray.is_initialized()
    assert batch_ray._connect(ray, None, 2)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_local_cluster_is_loopback_with_token_auth(tool_cluster: object) -> None:
    """Probe: the listening sockets of every process of the local cluster the tool starts. Expected: all on
    loopback (before: gcs_server, raylet, workers and the driver on *:PORT), token auth on (Ray >= 2.52)."""
    ray = tool_cluster
    pids = _descendants(os.getpid())
    sockets = _listening(pids)
    names = {name for name, _ in sockets}
    assert {"gcs_server", "raylet"} <= names, sockets
    assert all(_loopback(address) for _, address in sockets), sockets
    from ray._raylet import AuthenticationMode, get_authentication_mode  # type: ignore[attr-defined]

    assert get_authentication_mode() == AuthenticationMode.TOKEN
    gcs = next(pid for pid in pids if "gcs_server" in _cmdline(pid))
    environ = Path(f"/proc/{gcs}/environ").read_bytes().split(b"\0")
    assert b"RAY_AUTH_MODE=token" in environ
    assert ray.util.get_node_ip_address() == "127.0.0.1"  # type: ignore[attr-defined]


@pytest.mark.slow
def test_ray_force_cancel_kills_the_child(tool_cluster: object, zoo1: Path, tmp_path: Path) -> None:
    """Probe: ray.cancel(force=True) of a task whose `repair fix` child runs (its worker is SIGKILLed). Expected:
    the child dies with the worker (PR_SET_PDEATHSIG); it never carried the cluster's token."""
    ray = tool_cluster
    from repair.batch.local import ZooEntry
    from repair.batch.ray import fix_one

    out = tmp_path / "out"
    out.mkdir()
    ref = ray.remote(fix_one).remote(str(out), ["--target", "tflite"], None,  # type: ignore[attr-defined]
                                     ZooEntry("a", (zoo1 / "a").absolute()))

    def children() -> list[int]:
        return [pid for pid in _descendants(os.getpid()) if "repair.cli fix" in _cmdline(pid) and str(out) in _cmdline(pid)]

    _wait_for(lambda: bool(children()), what="the task's fix child")
    [child] = children()
    environ = Path(f"/proc/{child}/environ").read_bytes().split(b"\0")
    assert not any(v.startswith(b"RAY_AUTH_TOKEN") for v in environ)
    ray.cancel(ref, force=True)  # type: ignore[attr-defined]
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{child}").exists() or "repair.cli fix" not in _cmdline(child), "the child outlived its worker"
