"""Hostile I/O: nothing lost, no race, every error named (issue 12, items 5 and 7-11).

The model is the smallest one ``repair fix`` has work on: a TF1 SavedModel (x [None,4] -> tanh(x @ W), one
variable) tagged ['my_custom_tag'] instead of ['serve'] (corpus case tags/custom_tag); fix retags it. Every
probe runs the real entry point (supervisor + TensorFlow child) through tests/hostile.py, or, where only a
flag's check or a fault matters and a fresh TensorFlow import would cost more than the probe, the real CLI
in this process (tests/cli_helpers.py) checked by the same invariants.

Faults are real where the machine allows: a read-only tmpfs for a read-only --out location, a 16 KiB tmpfs
for a full disk, an unreadable file (mode 000, read by a process without CAP_DAC_OVERRIDE when the tests run
as root), SIGKILL of the whole process group at three points of a fix.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests import hostile
from tests.cli_helpers import repair as repair_in_process
from tests.conftest import tree_digest
from tests.hostile import Probe, assert_clean, run, start, wait_gone

CASE = "tags/custom_tag"
ROOT_USER = os.geteuid() == 0
DROP_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.fixture(scope="module")
def model(corpus) -> Path:  # type: ignore[no-untyped-def]
    """The built SavedModel (shared, read only: probes that change it copy it first)."""
    return corpus.artifact(CASE)


def _copy(model: Path, dest: Path) -> Path:
    shutil.copytree(model, dest)
    return dest


def in_process(*args: str | Path) -> Probe:
    """The real CLI in this process (TensorFlow already imported), as a Probe for assert_clean."""
    argv = [os.fsdecode(a) if isinstance(a, Path) else a for a in args]
    started = time.monotonic()
    result = repair_in_process(*argv)
    return Probe(argv, result.exit_code, result.stdout, result.stderr, "", time.monotonic() - started)


def _mount_tmpfs(where: Path, options: str) -> bool:
    where.mkdir(parents=True, exist_ok=True)
    if not ROOT_USER or shutil.which("mount") is None:
        return False
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True).returncode == 0


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Callable[[str], Path]]:
    """Mount a tmpfs with the given options (root only); unmounted afterwards."""
    mounted: list[Path] = []

    def mount(options: str) -> Path:
        where = tmp_path / f"tmpfs{len(mounted)}"
        if not _mount_tmpfs(where, options):
            pytest.skip("mounting a tmpfs needs root and mount(8); the fault cannot be made real here")
        mounted.append(where)
        return where

    yield mount
    for where in reversed(mounted):
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


# ---------------------------------------------------------------------------------------------------------------
# Item 5: two runs publishing into the same --out.


def test_concurrent_publish_one_wins(model: Path, tmp_path: Path) -> None:
    """Probe: two `repair fix` runs into the same --out, started together, neither with --force.
    Expected: exactly one exits 0 and says "wrote"; the other exits 2 with one line: --out was published by
    another run and nothing was written (the loser reached its publish after the winner's), or --out is not empty
    (the loser started after the winner had published: on a quiet machine the second TensorFlow start can take
    longer than the whole first run). Either way --out is complete and is the winner's (its report's total time is
    the one the winner printed); no scratch is left. The publish race itself, with real renames, is the next probe."""
    digest = tree_digest(model)
    out = tmp_path / "out"
    runs = [start("fix", model, "--out", out) for _ in range(2)]
    probes = []
    for proc, token in runs:
        stdout, stderr = proc.communicate(timeout=600)
        probes.append(Probe([], proc.returncode, stdout, stderr, token, 0.0, wait_gone(token)))
    codes = sorted(p.exit_code for p in probes)
    assert codes == [0, 2], "\n\n".join(p.show() for p in probes)
    winner, loser = sorted(probes, key=lambda p: p.exit_code)
    assert_clean(winner, code=0, input_path=model, digest=digest, out=out)
    assert_clean(loser, code=2, input_path=model, digest=digest, out=out)
    line = loser.one_line()
    assert ("another run" in line and "nothing was written" in line) or "exists and is not empty" in line, loser.show()
    assert "wrote" not in loser.stdout
    total = json.loads((out / "report.json").read_text())["timings_s"]["total"]
    assert f"in {total:.1f}s" in winner.stdout, winner.show()


def _final(parent: Path, tag: str) -> Path:
    d = parent / f".repair-out-{tag}"
    d.mkdir()
    (d / "saved_model.pb").write_text(tag)
    return d


def test_publish_never_replaces_without_force_and_force_is_whole(tmp_path: Path) -> None:
    """Probe (repair.core.publish.publish, real renames, no TensorFlow): the publish step of three runs into one --out.
    Expected: into an empty --out made by the user, the first run's rename replaces it; a second run without
    --force fails with OutTaken (exit 2) and the first run's output is untouched; a third run with --force
    replaces it whole (no trash left beside it)."""
    from repair.core.errors import ExitCode
    from repair.core.publish import OutTaken, publish

    out = tmp_path / "out"
    out.mkdir()
    publish(_final(tmp_path, "first"), out, force=False)
    assert (out / "saved_model.pb").read_text() == "first"
    second = _final(tmp_path, "second")
    with pytest.raises(OutTaken) as caught:
        publish(second, out, force=False)
    assert caught.value.exit_code is ExitCode.BAD_INPUT and "another run" in str(caught.value)
    assert (out / "saved_model.pb").read_text() == "first" and second.is_dir()
    publish(second, out, force=True)
    assert (out / "saved_model.pb").read_text() == "second"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


# ---------------------------------------------------------------------------------------------------------------
# Item 7: kill -9 at three points of a fix, then the next run cleans up after it.


def _poll(found: Callable[[], bool], proc: subprocess.Popen[str], seconds: float = 300) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and proc.poll() is None:
        if found():
            return True
        time.sleep(0.02)
    return False


def _scratches(parent: Path, out: Path) -> list[Path]:
    return [p for p in parent.iterdir() if p.name.startswith(f".repair-{out.name}-")]


def _crumb_says_convert(tmpdir: Path) -> bool:
    for crumb in tmpdir.glob("repair-supervise-*/current.json"):
        try:
            if json.loads(crumb.read_text()).get("stage") == "convert":
                return True
        except (OSError, ValueError):
            continue
    return False


@pytest.mark.slow
def test_kill_9_leaves_nothing_published_and_next_run_cleans(model: Path, tmp_path: Path) -> None:
    """Probe: SIGKILL of the whole process group (supervisor and child: nobody is left to clean) (a) as soon as
    the scratch exists, (b) during the conversion (the supervisor's breadcrumb says "convert"), (c) once the
    verified model.tflite is in scratch, right before the publish; then one more run into the same parent.
    Expected: after each kill --out is absent (or, if (c) lost the race, complete) and the scratch is still there;
    the next run into the same parent (the next kill's, then a last complete one) removes it and says so on stderr
    ("removed stale scratch ... left by a killed run (pid N)"); the last run exits 0 and nothing named .repair-*
    is left in the parent."""
    digest = tree_digest(model)
    parent = tmp_path / "outs"
    parent.mkdir()
    points: dict[str, Callable[[Path], bool]] = {
        "scratch": lambda out: bool(_scratches(parent, out)),
        # Each run has its own TMPDIR: a killed run's breadcrumb (left behind, saying "convert") must not count.
        "convert": lambda out: _crumb_says_convert(tmp_path / f"tmp-{out.name}"),
        "publish": lambda out: any(s.glob("*/model.tflite") for s in _scratches(parent, out)),
    }
    pending: list[Path] = []  # scratch left by the last kill: the next run into this parent must remove it
    cleaned = 0

    def removed_by(stderr: str) -> None:
        nonlocal cleaned
        notes = [line for line in stderr.splitlines() if line.startswith("removed stale scratch")]
        for scratch in pending:
            assert not scratch.exists(), f"{scratch.name} survived the next run\n{stderr}"
            assert any(scratch.name in line and "left by a killed run (pid " in line for line in notes), stderr
        cleaned += len(pending)

    for point, reached in points.items():
        out = parent / f"out-{point}"
        tmpdir = tmp_path / f"tmp-{out.name}"
        tmpdir.mkdir()
        proc, token = start("fix", model, "--out", out, env={"TMPDIR": str(tmpdir)})
        hit = _poll(lambda reached=reached, out=out: reached(out), proc)  # bound now: the loop moves on
        os.killpg(proc.pid, signal.SIGKILL)
        _, stderr = proc.communicate(timeout=60)
        assert not wait_gone(token), f"processes survived the kill at {point}"
        assert hit or point == "publish", f"the run ended before reaching {point}"
        removed_by(stderr)  # it started after the previous kill: it cleaned that one's scratch first
        if out.exists():
            assert point == "publish", f"--out appeared after a kill at {point}"
            assert {"saved_model.pb", "model.tflite", "report.md", "report.json"} <= {p.name for p in out.iterdir()}
        pending = _scratches(parent, out)
        assert pending or point == "publish", f"the kill at {point} must leave its scratch (nobody is alive to clean)"
        for crumbs in tmpdir.glob("repair-supervise-*"):  # the killed supervisor's own temp dir (not beside --out)
            shutil.rmtree(crumbs, ignore_errors=True)

    out = parent / "out-next"
    probe = run("fix", model, "--out", out)
    assert_clean(probe, code=0, input_path=model, digest=digest, out=out)
    removed_by(probe.stderr)
    assert cleaned >= 2, "the scratch of the kills at 'scratch' and 'convert' must have been cleaned"
    assert not [p.name for p in parent.iterdir() if p.name.startswith(".repair-")], probe.show()


def test_live_scratch_is_never_removed(model: Path, tmp_path: Path) -> None:
    """Probe: a scratch directory owned by a live process (this test's parent process, its pid and start time) and
    one whose pid is alive but started at another time (a reused pid), beside --out. Expected: the run leaves the live one
    alone, removes the reused-pid one and says so, and publishes."""
    from repair.core.publish import _boot_id, _start_ticks

    parent = tmp_path / "outs"
    parent.mkdir()
    me = os.getppid()
    ticks = _start_ticks(me)
    live = parent / f".repair-other-{_boot_id()}-{me}-{ticks}-abcd1234"
    reused = parent / f".repair-other-{_boot_id()}-{me}-{(ticks or 0) + 1}-abcd1234"
    for d in (live, reused):
        d.mkdir()
        (d / "saved_model.pb").write_bytes(b"work in progress")
    out = parent / "out"
    probe = in_process("fix", model, "--out", out)
    assert_clean(probe, code=0, out=out)
    assert live.is_dir() and not reused.exists()
    assert f"removed stale scratch {reused}" in probe.stderr and f"(pid {me})" in probe.stderr, probe.show()


# ---------------------------------------------------------------------------------------------------------------
# Item 8: --report / --plan-out where they would write into the input or into --out.


@pytest.mark.parametrize("flag,where", [
    ("--report", "input"), ("--report", "input-itself"), ("--plan-out", "input"), ("--report", "out"),
    ("--plan-out", "out"),
])
def test_report_and_plan_never_inside_input_or_out(model: Path, tmp_path: Path, flag: str, where: str) -> None:
    """Probe: --report DIR / --plan-out FILE inside the input (or the input itself), or inside --out.
    Expected: exit 2 before any work, one line naming the flag and why; the input is byte-identical and --out
    absent. (Inside --out they would make --out non-empty before the publish, or change it after.)"""
    src = _copy(model, tmp_path / "in")
    digest = tree_digest(src)
    out = tmp_path / "out"
    target = {"input": src / "rep", "input-itself": src, "out": out / "rep"}[where]
    if flag == "--plan-out" and where != "input-itself":
        target = target / "plan.json"
    probe = in_process("fix", src, "--out", out, flag, target)
    assert_clean(probe, code=2, input_path=src, digest=digest, out=out)
    line = probe.one_line()
    assert flag in line and ("inside the input" in line or "is the input" in line or "inside --out" in line), probe.show()
    assert not out.exists()


# ---------------------------------------------------------------------------------------------------------------
# Item 9: a bad --sample is bad input, named precisely.


def _sample(path: Path, form: str) -> str:
    """Write a bad sample of the given form; return a phrase the error line must contain."""
    if form == "missing-key":
        np.savez(path, wrong=np.zeros((2, 4), np.float32))
        return "no array for input 'x'"
    if form == "unknown-key":
        np.savez(path, x=np.zeros((2, 4), np.float32), labels=np.zeros(2))
        return "'labels' names no input"
    if form == "shape":
        np.savez(path, x=np.zeros((2, 5), np.float32))
        return "shape [?,4]"
    if form == "rank":
        np.savez(path, x=np.zeros((8,), np.float32))
        return "shape [?,4]"
    if form == "dtype":
        np.savez(path, x=np.array([["a", "b", "c", "d"]] * 2))
        return "float32"
    if form == "not-npz":
        path.write_text("x,y\n1,2\n")
        return "not an .npz file"
    if form == "npy":
        with path.open("wb") as fh:
            np.save(fh, np.zeros((2, 4), np.float32))
        return "not an .npz file"
    if form == "pickle":
        np.savez(path, x=np.array([{"a": 1}, None], dtype=object))
        return "pickled Python objects"
    raise AssertionError(form)


@pytest.mark.parametrize("form", ["missing-key", "unknown-key", "shape", "rank", "dtype", "not-npz", "npy", "pickle"])
def test_bad_sample_is_bad_input(model: Path, tmp_path: Path, form: str) -> None:
    """Probe: --sample with a missing key, an extra key naming no input, a wrong shape or rank, a string array for
    a float input, a CSV, a bare .npy, an object array (loading it would unpickle). Expected: exit 2 (bad input,
    not 3 "verification failed") with one line naming the problem (the key, the expected vs given shape/dtype),
    decided before any conversion; --out absent; nothing unpickled."""
    sample = tmp_path / "sample.npz"
    phrase = _sample(sample, form)
    out = tmp_path / "out"
    probe = in_process("fix", model, "--out", out, "--sample", sample)
    assert_clean(probe, code=2, out=out)
    line = probe.one_line()
    assert "--sample" in line and phrase in line, probe.show()
    assert "verification" not in line


def test_good_sample_still_works(model: Path, tmp_path: Path) -> None:
    """Probe: a correct sample (float64 data for the float32 input: a lossless-enough same-kind cast).
    Expected: exit 0 and --out complete."""
    sample = tmp_path / "sample.npz"
    np.savez(sample, x=np.linspace(-1, 1, 12).reshape(3, 4))
    out = tmp_path / "out"
    probe = in_process("fix", model, "--out", out, "--sample", sample)
    assert_clean(probe, code=0, out=out)
    assert out.is_dir()


# ---------------------------------------------------------------------------------------------------------------
# Item 10: the environment and a corrupt input, named with the path (exit 2, never "internal error").


def test_unreadable_variables_file(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe: variables/variables.data-* with mode 000 (read by a process without CAP_DAC_OVERRIDE when the tests
    run as root). Expected: exit 2, one line naming that file and "Permission denied"; the input unchanged."""
    src = _copy(model, tmp_path / "in")
    data = next((src / "variables").glob("variables.data-*"))
    digest = tree_digest(src)
    data.chmod(0)
    if ROOT_USER:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv(1): cannot read as an unprivileged process")
        monkeypatch.setattr(hostile, "REPAIR", [*DROP_DAC, *hostile.REPAIR])
    out = tmp_path / "out"
    probe = run("fix", src, "--out", out)
    data.chmod(0o644)
    assert_clean(probe, code=2, input_path=src, digest=digest, out=out)
    line = probe.one_line()
    assert data.name in line and "Permission denied" in line, probe.show()


def test_read_only_out_location(model: Path, tmpfs: Callable[[str], Path]) -> None:
    """Probe: --out on a read-only filesystem (a tmpfs mounted ro). Expected: exit 2, one line naming --out and
    "Read-only file system", before any conversion."""
    ro = tmpfs("ro,size=64k")
    out = ro / "out"
    probe = in_process("fix", model, "--out", out)
    assert_clean(probe, code=2, out=out)
    line = probe.one_line()
    assert str(out) in line and "Read-only file system" in line, probe.show()


def test_full_disk(model: Path, tmpfs: Callable[[str], Path]) -> None:
    """Probe: --out on a 16 KiB tmpfs: the scratch (a copy of the model, the .tflite, the reports) does not fit.
    Expected: exit 2, one line saying "No space left on device" with where; nothing left on the tmpfs."""
    full = tmpfs("size=16k")
    out = full / "out"
    probe = run("fix", model, "--out", out)
    assert_clean(probe, code=2, out=out)
    assert "No space left on device" in probe.one_line(), probe.show()
    assert not list(full.iterdir()), sorted(p.name for p in full.iterdir())


def test_full_disk_at_the_report_write(model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Probe: ENOSPC injected at the last write before the publish (report.md), the rest real (a mocked full disk,
    as the issue allows, for where no tmpfs can be mounted). Expected: exit 2 naming the file and "No space left
    on device"; --out absent; no scratch left."""
    real = Path.write_text

    def write_text(self: Path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.name == "report.md":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    out = tmp_path / "out"
    probe = in_process("fix", model, "--out", out)
    assert_clean(probe, code=2, out=out)
    line = probe.one_line()
    assert "No space left on device" in line and "report.md" in line, probe.show()
    assert not out.exists()


def test_corrupt_variables_index(model: Path, tmp_path: Path) -> None:
    """Probe: variables/variables.index with 20 bytes overwritten. Expected: exit 2 (not 1 "the catalog cannot fix
    converter-error"), one line "variables/variables.index is corrupt (...)"; the input unchanged."""
    src = _copy(model, tmp_path / "in")
    index = src / "variables" / "variables.index"
    blob = bytearray(index.read_bytes())
    blob[10:30] = b"\xff" * 20
    index.write_bytes(bytes(blob))
    digest = tree_digest(src)
    out = tmp_path / "out"
    probe = in_process("fix", src, "--out", out)
    assert_clean(probe, code=2, input_path=src, digest=digest, out=out)
    assert "variables/variables.index is corrupt" in probe.one_line(), probe.show()


# ---------------------------------------------------------------------------------------------------------------
# Item 11: paths that are not UTF-8.


def test_non_utf8_model_and_out_paths(model: Path, tmp_path: Path) -> None:
    """Probe: the model in a directory named b'caf\\xe9' (Latin-1, not UTF-8) and --out named b'out-\\xe9'.
    Expected: exit 0, --out complete at exactly that byte path, the input unchanged, the reports written
    (the path shown with a replacement character, never a crash)."""
    parent = Path(os.fsdecode(bytes(tmp_path) + b"/caf\xe9"))
    src = _copy(model, parent / "saved_model")
    digest = tree_digest(src)
    out = Path(os.fsdecode(bytes(tmp_path) + b"/out-\xe9"))
    probe = run("fix", src, "--out", out)
    assert_clean(probe, code=0, input_path=src, digest=digest, out=out)
    assert os.path.isdir(bytes(tmp_path) + b"/out-\xe9")
    report = json.loads((out / "report.json").read_text())
    assert report["status"] == "repaired"
    assert "caf" in (out / "report.md").read_text()
