"""``repair batch``: a zoo of corpus models repaired by real ``repair fix`` child processes.

The fast tests cover discovery and bad input (no TensorFlow); the slow ones run the batch end to end: statuses
and exit codes, outputs only for repaired models, a resumed run that skips everything, --retry-failed, and a
per-model timeout that kills the child and leaves no output behind.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from repair.batch.local import BatchStatus, discover
from tests.cli_helpers import repair
from tests.conftest import Corpus, tree_stamps
from tests.e2e.conftest import LocalBatch

REPAIRS = {"k3": "keras/keras3_saved_model_save", "train_tag": "tags/train_tag"}
REFUSED = {"resize": "ops/resize_antialias"}
BATCH_FILES = ("batch-state.json", "summary.json", "summary.md")  # the batch's own files, rewritten by every run


def _summary(out: Path) -> dict:  # type: ignore[type-arg]
    return json.loads((out / "summary.json").read_text())


def _statuses(out: Path) -> dict[str, str]:
    return {m["name"]: m["status"] for m in _summary(out)["models"]}


def build_zoo(corpus: Corpus, zoo: Path) -> Path:
    """k3 (a case folder holding saved_model/), train_tag (a SavedModel folder), resize (refused), notamodel."""
    zoo.mkdir()
    for name, case_id in {**REPAIRS, **REFUSED}.items():
        artifact = corpus.artifact(case_id)
        (zoo / name).symlink_to(artifact.parent if name == "k3" else artifact, target_is_directory=True)
    (zoo / "notamodel").mkdir()
    (zoo / "notamodel" / "notes.txt").write_text("not a model\n")
    (zoo / "README.md").write_text("ignored\n")
    return zoo


def test_discover_rules(tmp_path: Path) -> None:
    (tmp_path / "sm").mkdir()
    (tmp_path / "sm" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "nested" / "saved_model").mkdir(parents=True)
    (tmp_path / "nested" / "saved_model" / "saved_model.pb").write_bytes(b"")
    (tmp_path / "junk").mkdir()
    (tmp_path / ".hidden").mkdir()
    for name in ("a.keras", "a.h5", "frozen.pb", "notes.txt"):
        (tmp_path / name).write_bytes(b"")
    entries = {e.name: e for e in discover(tmp_path)}
    assert set(entries) == {"sm", "nested", "junk", "a.keras", "a.h5", "frozen"}
    assert entries["nested"].path == tmp_path / "nested" / "saved_model"
    assert entries["junk"].problem and not entries["sm"].problem and not entries["frozen"].problem


def test_bad_input(tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    assert repair("batch", str(zoo), "--out", str(tmp_path / "out")).exit_code == 2  # missing
    zoo.mkdir()
    run = repair("batch", str(zoo), "--out", str(tmp_path / "out"))
    assert run.exit_code == 2 and "no models" in run.stderr  # empty
    (zoo / "m.keras").write_bytes(b"")
    run = repair("batch", str(zoo), "--out", str(zoo / "out"))
    assert run.exit_code == 2 and "inside the zoo" in run.stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "mine.txt").write_text("x")
    run = repair("batch", str(zoo), "--out", str(tmp_path / "busy"))
    assert run.exit_code == 2 and "batch-state.json" in run.stderr
    assert repair("batch", str(zoo), "--out", str(tmp_path / "out"), "-j", "0").exit_code == 2


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("repair: ") and "Traceback" not in stderr, stderr
    return lines[0]


def test_batch_refuses_plan_in(tmp_path: Path) -> None:
    """A plan file names the one model it was made for; forwarded to every child it would refuse all the others."""
    zoo = tmp_path / "zoo"
    (zoo / "notamodel").mkdir(parents=True)
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    run = repair("batch", str(zoo), "--out", str(tmp_path / "out"), "--plan-in", str(plan))
    assert run.exit_code == 2
    assert "a plan file is made for one model" in _one_line(run.stderr)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flag, needle", [(["--pin", "x"], "--pin 'x': expected NAME=VALUE"),
                                          (["--sample", "missing.npz"], "--sample missing.npz: no such file"),
                                          (["--io-hint", "x:y"], "--io-hint 'x:y'")])
def test_batch_checks_fix_flags_once(tmp_path: Path, flag: list[str], needle: str) -> None:
    """A bad model flag is one line and exit 2 before any model runs, not a bad-input per model."""
    zoo = tmp_path / "zoo"
    (zoo / "notamodel").mkdir(parents=True)
    run = repair("batch", str(zoo), "--out", str(tmp_path / "out"), *flag)
    assert run.exit_code == 2 and needle in _one_line(run.stderr)
    assert not (tmp_path / "out").exists()


def _fix_args(tmp_path: Path, *flags: str) -> list[str]:
    """The fix arguments a real batch records in its state (a zoo of one non-model: no child runs)."""
    zoo, out = tmp_path / "zoo", tmp_path / "out"
    (zoo / "notamodel").mkdir(parents=True, exist_ok=True)
    run = repair("batch", str(zoo), "--out", str(out), *flags)
    assert run.exit_code == 1, run.stderr  # the non-model is bad-input
    assert _statuses(out) == {"notamodel": BatchStatus.BAD_INPUT.value}
    state = json.loads((out / "batch-state.json").read_text())
    return [str(a) for a in state["fix_args"]]


def test_batch_state_keeps_the_fix_args_of_earlier_versions(tmp_path: Path) -> None:
    """A resume needs the same fix arguments; flags that batch already had are recorded as they were before
    batch took its flags from the one declaration, so a batch started by an earlier version resumes."""
    assert _fix_args(tmp_path / "a") == ["--target", "tflite", "--seed", "0", "--batch", "2", "--atol", "1e-05",
                                         "--rtol", "0.0001"]
    assert _fix_args(tmp_path / "b", "--allow-side-effects", "--unsafe-load", "--unsafe-fixes", "--seed", "7") == [
        "--target", "tflite", "--seed", "7", "--batch", "2", "--atol", "1e-05", "--rtol", "0.0001", "--unsafe-fixes",
        "--unsafe-load", "--allow-side-effects"]


def test_batch_forwards_paths_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--sample and --request are the same file for every child, which may run elsewhere (a Ray worker's folder)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "s.npz").write_bytes(b"")
    (tmp_path / "r.json").write_text('{"instances": [{"x": [1.0]}]}')
    args = _fix_args(tmp_path, "--sample", "s.npz", "--request", "r.json", "--pin", "x=1,4", "--rename", "x=y")
    assert args[:10] == ["--target", "tflite", "--pin", "x=1,4", "--sample", str(tmp_path / "s.npz"),
                         "--rename", "x=y", "--request", str(tmp_path / "r.json")]


@pytest.mark.slow
def test_batch_forwards_pin_and_rename_to_the_child(corpus: Corpus, tmp_path: Path) -> None:
    """A real batch with fix's model flags: the child's report shows the pin applied under the renamed key."""
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "frames").symlink_to(corpus.artifact("shapes/pin_batch_only"), target_is_directory=True)
    out = tmp_path / "out"
    run = repair("batch", str(zoo), "--out", str(out), "--pin", "frames=1,16,8", "--rename", "frames=window")
    assert run.exit_code == 0, run.stderr
    assert _statuses(out) == {"frames": "repaired"}
    report = json.loads((out / "frames.report" / "report.json").read_text())
    pin = next(f for f in report["fixes"] if f["rewrite"] == "pin_dynamic_dims")
    assert pin["outcome"] == "applied" and "[1,16,8]" in pin["summary"]
    assert report["after"]["tflite"]["signatures"]["serving_default"]["inputs"] == {"window": [1, 16, 8]}
    assert (out / "frames" / "model.tflite").is_file()


@pytest.mark.slow
def test_batch_resume_and_retry(local_batch: LocalBatch, tmp_path: Path) -> None:
    """The session's local batch of the zoo (tests/e2e/conftest.py), then a resume and a retry on a copy of it."""
    zoo, out = local_batch.zoo, local_batch.out
    assert local_batch.exit_code == 1, local_batch.stderr
    expected = {"k3": "repaired", "train_tag": "repaired", "resize": "refused", "notamodel": "bad-input"}
    assert _statuses(out) == expected
    first = _summary(out)
    assert first["counts"]["repaired"] == 2 and first["jobs"] == 2 and first["ran"] == 4
    rows = {m["name"]: m for m in first["models"]}
    assert rows["resize"]["exit"] == 1 and "cannot repair" in rows["resize"]["message"]
    assert rows["k3"]["exit"] == 0 and rows["k3"]["message"]
    for name in expected:
        assert (out / name).is_dir() == (name in REPAIRS), name
    for name in REPAIRS:
        assert (out / name / "saved_model.pb").is_file() and (out / f"{name}.report" / "report.json").is_file()
    assert not list(out.glob(".repair-*"))
    assert "| resize | refused | 1 |" in (out / "summary.md").read_text()
    state = json.loads((out / "batch-state.json").read_text())
    assert {n: m["status"] for n, m in state["models"].items()} == expected
    assert first == local_batch.summary

    out = tmp_path / "out"  # the resume and the retry write into a copy: the session's run stays as it was
    shutil.copytree(local_batch.out, out, symlinks=True)
    before = tree_stamps(out, skip=BATCH_FILES)
    again = repair("batch", str(zoo), "--out", str(out), "-j", "2")
    assert again.exit_code == 1
    # a resumed batch must not rerun finished models: a rerun removes a model's folders and writes them anew
    assert tree_stamps(out, skip=BATCH_FILES) == before, "a resumed batch must not rerun finished models"
    second = _summary(out)
    assert second["ran"] == 0 and second["skipped"] == 4
    assert second["models"] == first["models"] and second["counts"] == first["counts"]

    retry = repair("batch", str(zoo), "--out", str(out), "--retry-failed")
    assert retry.exit_code == 1
    assert _summary(out)["ran"] == 2 and _statuses(out) == expected
    after = tree_stamps(out, skip=BATCH_FILES)  # resize ran again (its log is new); the repaired models did not
    assert after["resize.report/fix.log"] != before["resize.report/fix.log"]
    assert {f: s for f, s in after.items() if not f.startswith("resize")} == {
        f: s for f, s in before.items() if not f.startswith("resize")}


@pytest.mark.slow
def test_batch_timeout(corpus: Corpus, tmp_path: Path) -> None:
    zoo = tmp_path / "zoo"
    zoo.mkdir()
    (zoo / "train_tag").symlink_to(corpus.artifact(REPAIRS["train_tag"]), target_is_directory=True)
    out = tmp_path / "out"
    run = repair("batch", str(zoo), "--out", str(out), "--timeout", "1")
    assert run.exit_code == 1
    row = _summary(out)["models"][0]
    assert row["status"] == "timeout" and row["exit"] is None and row["message"] == "killed after 1s"
    assert not (out / "train_tag").exists() and not list(out.glob(".repair-*"))
    # killed at the timeout, not after it finished: its log (kept) stops before the gate's verdict
    assert "verified" not in (out / "train_tag.report" / "fix.log").read_text()
    # a timeout is not final: the next run (no timeout) redoes it
    assert repair("batch", str(zoo), "--out", str(out)).exit_code == 0
    assert _statuses(out) == {"train_tag": "repaired"}
    assert "verified" in (out / "train_tag.report" / "fix.log").read_text()  # the word a finished run's log has
